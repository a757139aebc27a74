"""A dated timeline figure for section 2.4 (open and closed AI after December 2023)."""

import textwrap

import pandas as pd

__all__ = ["read_events", "plot_timeline"]


def read_events(table):
    """Parse the ``date`` column of an events table and sort it by date.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``date`` (ISO 8601 text), ``area`` and ``event``.
    """
    events = table.assign(date=pd.to_datetime(table["date"]))
    return events.sort_values("date").reset_index(drop=True)


def plot_timeline(events, *, width=34):
    """Draw events as labelled points on one horizontal lane per area.

    Parameters
    ----------
    events : pandas.DataFrame
        Output of :func:`read_events`.
    width : int, default=34
        Characters per line of each wrapped event label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    import matplotlib.dates as mdates

    areas = list(dict.fromkeys(events["area"]))
    fig, ax = plt.subplots(figsize=(7, 0.75 * len(events) + 0.5))
    for i, row in events.iterrows():
        colour = plt.cm.tab10(areas.index(row["area"]))
        ax.plot(row["date"], -i, "o", color=colour)
        label = textwrap.fill(f"{row['date']:%d %b %Y}: " + row["event"], width)
        ax.annotate(label, (row["date"], -i), xytext=(7, 0), textcoords="offset points",
                    va="center", fontsize=8, color=colour)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=plt.cm.tab10(k))
               for k in range(len(areas))]
    ax.legend(handles, areas, loc="lower left", fontsize=8, frameon=False)
    ax.set_yticks([])
    ax.set_xlim(events["date"].min() - pd.Timedelta(days=30),
                events["date"].max() + pd.Timedelta(days=400))
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return fig
