"""Figures for pages that must work offline and for screen-reader users."""

import base64
import html
import io

__all__ = ["fig_to_html"]


def fig_to_html(fig, alt, *, dpi=80):
    """Render a matplotlib figure as a self-contained ``<img>`` tag and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    alt : str
        Alternative text that says what the figure shows (the data, not "a plot").
    dpi : int, default=80
        Resolution of the embedded PNG; lower keeps pages light.

    Returns
    -------
    str
        HTML with the PNG embedded as a data URI, so it needs no network.
    """
    if not alt or not alt.strip():
        raise ValueError("fig_to_html needs non-empty alt text that says what the figure shows.")
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        'style="max-width:100%;height:auto">'
    )
