"""Plumbing for chapter 4 (fairness and bias): the COMPAS table, features, and explorer panels.

The measurements themselves are made in the chapter's notebooks with fairlearn; this module only
loads and prepares the data and turns fairlearn's results into light HTML panels for the static
threshold explorer.
"""

import html

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame, demographic_parity_difference, equalized_odds_difference,
    false_negative_rate, false_positive_rate, selection_rate,
)
from sklearn.metrics import accuracy_score, precision_score

from aiopen.datasets import read_table

__all__ = [
    "GROUPS", "FEATURES", "RATE_METRICS", "load_compas", "features", "group_rates",
    "thresholds_panel", "calibration_table", "ppv",
]

GROUPS = {"African-American": "Black", "Caucasian": "White"}
"""How the source's race labels are written in the chapter."""

FEATURES = ["sex", "age", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count",
            "c_charge_degree"]
"""Columns a model may use: everything in the table except race, the scores and the outcome."""

RATE_METRICS = {
    "selection rate": selection_rate,
    "false positive rate": false_positive_rate,
    "false negative rate": false_negative_rate,
}
"""The per-group rates the chapter reports, as fairlearn metric functions."""


def load_compas():
    """The chapter's COMPAS table, with a ``group`` column ("Black" or "White").

    Returns
    -------
    pandas.DataFrame
        One row per defendant from ``chapters/data/ch04-compas.csv`` (see its ``.source.txt``),
        plus ``group``, and ``high_risk`` (1 when the decile score is 5 or more, the "medium" or
        "high" labels that ProPublica counted as a prediction of reoffending).
    """
    df = read_table("ch04-compas")
    df["group"] = df["race"].map(GROUPS)
    if df["group"].isna().any():
        raise ValueError("ch04-compas.csv has race labels other than " f"{sorted(GROUPS)}.")
    df["high_risk"] = (df["decile_score"] >= 5).astype(int)
    return df


def features(df):
    """The model's inputs: ``FEATURES`` with sex and charge degree coded as 0/1 columns.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of the COMPAS table.

    Returns
    -------
    pandas.DataFrame
        Numeric columns: ``female``, ``age``, the three juvenile counts, ``priors_count``,
        ``felony`` (the current charge is a felony rather than a misdemeanour).
    """
    X = df[FEATURES].copy()
    X.insert(0, "female", (X.pop("sex") == "Female").astype(int))
    X["felony"] = (X.pop("c_charge_degree") == "F").astype(int)
    return X


def group_rates(y_true, y_pred, groups):
    """Selection, false-positive and false-negative rates by group, and two summary gaps.

    Returns
    -------
    by_group : pandas.DataFrame
        ``MetricFrame(...).by_group`` for :data:`RATE_METRICS` plus accuracy.
    gaps : dict
        ``demographic_parity_difference``, ``equalized_odds_difference`` and overall accuracy.
    """
    metrics = dict(RATE_METRICS, accuracy=accuracy_score)
    frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=groups)
    gaps = {
        "demographic parity difference": demographic_parity_difference(
            y_true, y_pred, sensitive_features=groups),
        "equalized odds difference": equalized_odds_difference(
            y_true, y_pred, sensitive_features=groups),
        "overall accuracy": accuracy_score(y_true, y_pred),
    }
    return frame.by_group, gaps


def _bar(value, colour):
    width = int(round(100 * value))
    return (f'<span style="display:inline-block;height:0.7em;width:{width / 2:.0f}%;'
            f'max-width:100%;background:{colour}"></span>')


def thresholds_panel(df, cutoffs):
    """HTML for one setting of the threshold explorer.

    Parameters
    ----------
    df : pandas.DataFrame
        The COMPAS table from :func:`load_compas`.
    cutoffs : dict of str to int
        For each group, the lowest decile score labelled "high risk".

    Returns
    -------
    str
        A small table of each group's rates and the two fairness gaps; no images, so many
        panels stay light.
    """
    cut = df["group"].map(cutoffs)
    y_pred = (df["decile_score"] >= cut).astype(int)
    frame = MetricFrame(metrics=dict(RATE_METRICS, accuracy=accuracy_score),
                        y_true=df["two_year_recid"], y_pred=y_pred, sensitive_features=df["group"])
    by_group, diff = frame.by_group, frame.difference()
    # The same numbers as fairlearn's demographic_parity_difference and
    # equalized_odds_difference (the larger of the FPR and TPR gaps; a TPR gap equals the FNR
    # gap), read from one MetricFrame so that many panels stay quick to compute.
    gaps = {
        "demographic parity difference": diff["selection rate"],
        "equalized odds difference": max(diff["false positive rate"], diff["false negative rate"]),
        "overall accuracy": frame.overall["accuracy"],
    }
    colours = {"Black": "#1f77b4", "White": "#ff7f0e"}
    rows = []
    for name in ("selection rate", "false positive rate", "false negative rate", "accuracy"):
        cells = "".join(
            f"<td>{by_group.loc[g, name]:.1%}<br>{_bar(by_group.loc[g, name], colours[g])}</td>"
            for g in cutoffs)
        rows.append(f"<tr><th scope='row'>{html.escape(name)}</th>{cells}</tr>")
    head = "".join(f"<th scope='col'>{g} (high risk if score &ge; {c})</th>"
                   for g, c in cutoffs.items())
    summary = "; ".join(f"{name}: {value:.3f}" for name, value in gaps.items())
    return ("<table style='font-size:0.9em;width:100%;table-layout:fixed'>"
            f"<tr><th></th>{head}</tr>{''.join(rows)}</table><p>{summary}</p>")


def calibration_table(df, score="decile_score", outcome="two_year_recid"):
    """Share who reoffended within two years at each score, by group (with counts).

    Returns
    -------
    pandas.DataFrame
        Indexed by score; columns ``(group, "rate")`` and ``(group, "n")``.
    """
    table = df.groupby([score, "group"])[outcome].agg(rate="mean", n="size").unstack("group")
    return table.swaplevel(axis=1).sort_index(axis=1)


def ppv(y_true, y_pred):
    """Positive predictive value (precision): of those labelled high risk, the share who
    reoffended. Returns NaN rather than warning when nobody is labelled high risk."""
    y_pred = np.asarray(y_pred)
    if y_pred.sum() == 0:
        return float("nan")
    return precision_score(y_true, y_pred)
