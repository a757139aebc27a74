"""Widgets that stay interactive in the static book, with no kernel behind them.

A reader of the built book has no Python running, so a widget cannot compute anything there.
These explorers precompute one panel per setting and switch between them in the browser: the
control's ``index`` is linked to a ``Stack``'s ``selected_index`` with ``jslink``, which the
widget manager runs client-side from the saved widget state. In Jupyter, Binder or Colab the
same widget works as usual.

Every explorer has one layout: a title, the controls, then the panel, all as wide as the column
(CSS class ``aiopen-explorer``; the book's ``_theme/explorer.css`` and ``explorer.js`` style it,
give sliders spoken values and announce each new panel to screen readers).
"""

import ipywidgets as widgets

__all__ = ["explorer", "explorer2"]

_CONTROLS = {
    "slider": widgets.SelectionSlider,
    "dropdown": widgets.Dropdown,
    "buttons": widgets.ToggleButtons,
}
_STYLE = {"description_width": "initial"}
_FULL_WIDTH = {"width": "100%", "max_width": "100%"}


def _control(kind, options, description):
    try:
        factory = _CONTROLS[kind]
    except KeyError:
        raise ValueError(
            f"The control {kind!r} is not one of {sorted(_CONTROLS)}; pick one of those."
        ) from None
    options = list(options)
    if not options:
        raise ValueError(f"The control {description!r} needs at least one option.")
    extra = {"continuous_update": True} if kind == "slider" else {}
    knob = factory(
        options=options, value=options[0], description=description, style=_STYLE,
        layout=widgets.Layout(**_FULL_WIDTH), **extra,
    )
    knob.add_class("aiopen-control")
    return knob


def _stack(html_panels, control):
    stack = widgets.Stack([_panel(panel) for panel in html_panels], selected_index=0,
                          layout=widgets.Layout(**_FULL_WIDTH))
    widgets.jslink((control, "index"), (stack, "selected_index"))
    return stack


def _panel(html):
    panel = widgets.HTML(value=html, layout=widgets.Layout(**_FULL_WIDTH))
    panel.add_class("aiopen-panel")
    return panel


def _frame(title, controls, body):
    parts = []
    if title:
        heading = widgets.HTML(value=f"<strong>{title}</strong>", layout=widgets.Layout(**_FULL_WIDTH))
        heading.add_class("aiopen-title")
        parts.append(heading)
    box = widgets.VBox(parts + list(controls) + [body], layout=widgets.Layout(**_FULL_WIDTH))
    box.add_class("aiopen-explorer")
    return box


def explorer(panels, *, description, control="slider", title=None):
    """A one-knob explorer: the reader picks an option and sees its panel.

    Parameters
    ----------
    panels : dict of str to str
        Maps each option label, in display order, to the HTML shown for it (for example
        text and an ``<img>`` from :func:`aiopen.figures.fig_to_html`).
    description : str
        Label of the control, read out by screen readers.
    control : {"slider", "dropdown", "buttons"}, default="slider"
        The kind of control.
    title : str, optional
        A heading line above the control.

    Returns
    -------
    ipywidgets.VBox
    """
    knob = _control(control, panels.keys(), description)
    return _frame(title, [knob], _stack(panels.values(), knob))


def explorer2(panels, *, descriptions, controls=("dropdown", "slider"), title=None):
    """A two-knob explorer over every combination of two option lists.

    Parameters
    ----------
    panels : dict of (str, str) to str
        ``panels[(first, second)]`` is the HTML for that combination; every combination of
        the first and second options, taken in order of first appearance, must be present.
    descriptions : tuple of (str, str)
        Labels of the two controls.
    controls : tuple of (str, str), default=("dropdown", "slider")
        Kinds of the two controls, as in :func:`explorer`.
    title : str, optional
        A heading line above the controls.

    Returns
    -------
    ipywidgets.VBox
    """
    firsts = list(dict.fromkeys(a for a, _ in panels))
    seconds = list(dict.fromkeys(b for _, b in panels))
    missing = [(a, b) for a in firsts for b in seconds if (a, b) not in panels]
    if missing:
        raise ValueError(f"explorer2 needs a panel for every combination; missing {missing}.")
    outer_knob = _control(controls[0], firsts, descriptions[0])
    inner_knob = _control(controls[1], seconds, descriptions[1])
    inner = [_stack([panels[(a, b)] for b in seconds], inner_knob) for a in firsts]
    outer = widgets.Stack(inner, selected_index=0, layout=widgets.Layout(**_FULL_WIDTH))
    widgets.jslink((outer_knob, "index"), (outer, "selected_index"))
    return _frame(title, [outer_knob, inner_knob], outer)
