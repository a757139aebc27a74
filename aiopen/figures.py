"""Figures for pages that must work offline and for screen-reader users."""

import base64
import html
import io

__all__ = ["fig_to_html", "MIN_FONT_PT"]

#: Smallest text size, in points at the figure's own size, of any label in an embedded figure.
#: Shown as wide as the book's text column (about 7 inches on a laptop) a 6.5-inch figure keeps
#: its text at about 14 CSS pixels, as large as the book's smallest body text.
MIN_FONT_PT = 10.5

#: Pixels per inch of the embedded PNG, at least: sharp when the figure is stretched to the column.
MIN_DPI = 100


def fig_to_html(fig, alt, *, dpi=80):
    """Render a matplotlib figure as a self-contained ``<img>`` tag and close it.

    The image fills the width of the text column (and shrinks on a phone), every label in it is
    raised to at least :data:`MIN_FONT_PT` points, and the PNG is stored with a 256-colour
    palette so that pages with many panels stay light.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    alt : str
        Alternative text that says what the figure shows (the data, not "a plot").
    dpi : int, default=80
        Resolution of the embedded PNG, raised to at least :data:`MIN_DPI`.

    Returns
    -------
    str
        HTML with the PNG embedded as a data URI, so it needs no network. The ``img`` carries
        ``data-min-font-pt`` and ``data-width-in`` so that a test can compute the size its
        smallest text is drawn at on screen.
    """
    if not alt or not alt.strip():
        raise ValueError("fig_to_html needs non-empty alt text that says what the figure shows.")
    import matplotlib.pyplot as plt

    smallest = _raise_small_text(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=max(dpi, MIN_DPI), bbox_inches="tight",
                metadata={"Software": None})
    plt.close(fig)
    png, (width, height) = _palette_png(buffer.getvalue())
    width_in = width / max(dpi, MIN_DPI)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img class="aiopen-figure" src="data:image/png;base64,{data}" '
        f'alt="{html.escape(alt, quote=True)}" width="{width}" height="{height}" '
        f'data-min-font-pt="{smallest:g}" data-width-in="{width_in:.2f}" '
        'style="width:100%;max-width:100%;height:auto">'
    )


def _raise_small_text(fig):
    """Raise every visible label below MIN_FONT_PT to it; return the smallest size left."""
    from matplotlib.text import Text

    sizes = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        if text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
        sizes.append(text.get_fontsize())
    return min(sizes, default=MIN_FONT_PT)


def _palette_png(png_bytes):
    """The same picture with at most 256 colours (a third of the bytes for a chart)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png_bytes)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue(), image.size
