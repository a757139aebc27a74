"""Plumbing for chapter 10 (building in the open): one small model, from data to a release.

The chapter trains a scikit-learn pipeline on the UCI Adult sample of chapter 5, evaluates it
honestly, audits it with fairlearn, documents it with skops.card, saves it with skops.io and
lays out the files of a public repository. This module keeps the steps the chapter shows in
small functions: loading and splitting the data, the model, a bootstrap interval, noise for the
robustness check, an operation count, and the files of the release folder.
"""

import importlib.metadata
import pathlib
import textwrap

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from aiopen.datasets import read_table

__all__ = [
    "NUMERIC", "CATEGORICAL", "GROUP", "load_adult", "split", "make_model", "accuracy",
    "miss_rate", "bootstrap_ci",
    "add_noise", "training_flops", "pins", "licence_of", "RELEASE_TEST", "write_release",
    "tree", "wrap", "MIT_LICENCE", "ADULT_DATASHEET", "CARD_SECTIONS", "missing_sections",
]

NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
"""Numeric input columns, standardized before the logistic regression."""

CATEGORICAL = ["workclass", "marital_status", "occupation", "relationship"]
"""Text input columns, one-hot encoded. Sex, race and country of birth are not inputs."""

GROUP = "sex"
"""The column the fairness audit groups by (the census's two categories, Female and Male)."""


def load_adult():
    """The chapter's 4,000 census records, with ``high_income`` (1 when income is >50K).

    Returns
    -------
    pandas.DataFrame
        ``chapters/data/ch05-adult-sample.csv`` (see its ``.source.txt``) plus ``high_income``.
    """
    df = read_table("ch05-adult-sample")
    df["high_income"] = (df["income"] == ">50K").astype(int)
    return df


def split(df, test_size=0.25, seed=0):
    """Training and test rows, stratified by the outcome, as a dict of frames and series.

    Returns
    -------
    dict
        ``X_train``, ``X_test`` (the input columns), ``y_train``, ``y_test`` (``high_income``),
        ``group_train``, ``group_test`` (the ``GROUP`` column).
    """
    train, test = train_test_split(df, test_size=test_size, random_state=seed,
                                   stratify=df["high_income"])
    out = {}
    for name, part in (("train", train), ("test", test)):
        out[f"X_{name}"] = part[NUMERIC + CATEGORICAL]
        out[f"y_{name}"] = part["high_income"]
        out[f"group_{name}"] = part[GROUP]
    return out


def make_model():
    """An unfitted pipeline: scale the numbers, one-hot the categories, logistic regression."""
    columns = ColumnTransformer([
        ("numbers", StandardScaler(), NUMERIC),
        ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
    ])
    return make_pipeline(columns, LogisticRegression(max_iter=1000))


def accuracy(y_true, y_pred):
    """Share of predictions equal to the outcome (scikit-learn's accuracy_score, in NumPy)."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def miss_rate(y_true, y_pred):
    """False negative rate: among rows whose outcome is 1, the share predicted 0."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_pred[y_true == 1] == 0))


def bootstrap_ci(y_true, y_pred, metric=accuracy, n_resamples=1000, level=0.95, seed=0):
    """Percentile bootstrap interval for a metric of fixed predictions on a test set.

    Parameters
    ----------
    y_true, y_pred : array-like
        Outcomes and predictions for the same test rows.
    metric : callable, default=accuracy
        ``metric(y_true, y_pred)`` returning a number. Plain NumPy metrics such as
        ``accuracy`` and ``miss_rate`` keep a thousand resamples fast.
    n_resamples : int, default=1000
        How many test sets to draw, with replacement, each as large as the original.
    level : float, default=0.95
        Coverage of the interval.
    seed : int, default=0
        Seed of the random generator, so the interval is the same on every run.

    Returns
    -------
    tuple of float
        The lower and upper ends of the interval.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    n = len(y_true)
    scores = [metric(y_true[idx], y_pred[idx])
              for idx in rng.integers(0, n, size=(n_resamples, n))]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(scores, [tail, 100 - tail])
    return float(low), float(high)


def add_noise(X, scale, seed=0, columns=("age", "education_num", "hours_per_week")):
    """A copy of ``X`` with Gaussian noise added to some numeric columns.

    The noise in each column has standard deviation ``scale`` times that column's own standard
    deviation, so ``scale=0.5`` is "half a typical difference between two people". Values are
    rounded and kept at or above zero, as the census recorded them.
    """
    rng = np.random.default_rng(seed)
    noisy = X.copy()
    for column in columns:
        values = noisy[column].to_numpy(dtype=float)
        values = values + rng.normal(0.0, scale * values.std(), size=len(values))
        noisy[column] = np.clip(np.round(values), 0, None).astype(int)
    return noisy


def training_flops(pipeline, X):
    """Rough count of the arithmetic in fitting the pipeline's logistic regression.

    Each L-BFGS iteration evaluates the loss and its gradient at least once: one product of the
    encoded data with the weights (2 operations per entry) and one with the residuals (2 more),
    so about 4 x rows x columns operations. The solver may evaluate more than once per iteration
    (a line search), so this is a lower bound of the right order, not an exact count.

    Returns
    -------
    dict
        ``rows``, ``columns`` (after one-hot encoding), ``iterations`` and ``flops``.
    """
    columns = pipeline[0].transform(X.iloc[:1]).shape[1]
    iterations = int(pipeline[-1].n_iter_[0])
    rows = len(X)
    return {"rows": rows, "columns": columns, "iterations": iterations,
            "flops": 4 * rows * columns * iterations}


def pins(packages):
    """``name==version`` lines for installed distributions, as a requirements file has them."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in packages]


def licence_of(package):
    """The licence an installed distribution declares: its SPDX expression, else its licence
    classifier ("License :: OSI Approved :: BSD License"), else the first line of its licence
    file."""
    meta = importlib.metadata.metadata(package)
    if meta.get("License-Expression"):
        return meta["License-Expression"]
    named = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
             if c.startswith("License ::") and c.count(" :: ") >= 2]
    if named:
        return "; ".join(named)
    for file in importlib.metadata.files(package) or []:
        if file.name.upper().startswith(("LICENSE", "LICENCE", "COPYING")):
            return file.read_text(encoding="utf-8").strip().splitlines()[0]
    return (meta.get("License") or "not declared").splitlines()[0]


RELEASE_TEST = '''\
"""Checks anyone can run after cloning: python -m pytest test_model.py"""
import pandas as pd
from sklearn.metrics import accuracy_score
from skops.io import get_untrusted_types, load

EXPECTED_TYPES = {expected_types!r}


def test_model_loads_only_reviewed_types():
    assert set(get_untrusted_types(file="model.skops")) <= set(EXPECTED_TYPES)


def test_accuracy_as_reported():
    model = load("model.skops", trusted=EXPECTED_TYPES)
    test = pd.read_csv("data/test.csv")
    accuracy = accuracy_score(test.pop("high_income"), model.predict(test))
    assert abs(accuracy - {accuracy:.4f}) < 1e-4
'''
"""The release's test file; ``write_release`` fills in the reviewed types and the accuracy."""


def write_release(folder, *, model_file, card_text, data_card, licence_text, requirements,
                  test_rows, expected_types, accuracy):
    """Write the files of a model's public repository into ``folder``.

    Parameters
    ----------
    folder : path-like
        An existing, empty folder.
    model_file : path-like
        The model saved with ``skops.io.dump``; copied as ``model.skops``.
    card_text, data_card, licence_text : str
        The model card (the repository's README.md), the data card and the licence.
    requirements : list of str
        Pinned packages, one per line of ``requirements.txt``.
    test_rows : pandas.DataFrame
        The test rows with their outcome, written to ``data/test.csv``.
    expected_types : list of str
        The types ``skops.io.get_untrusted_types`` lists and the authors reviewed.
    accuracy : float
        Test accuracy the card reports; the release's test checks it.
    """
    folder = pathlib.Path(folder)
    (folder / "data").mkdir()
    (folder / "model.skops").write_bytes(pathlib.Path(model_file).read_bytes())
    (folder / "README.md").write_text(card_text, encoding="utf-8")
    (folder / "DATA_CARD.md").write_text(data_card, encoding="utf-8")
    (folder / "LICENSE").write_text(licence_text, encoding="utf-8")
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    test_rows.to_csv(folder / "data" / "test.csv", index=False)
    (folder / "test_model.py").write_text(
        RELEASE_TEST.format(expected_types=sorted(expected_types), accuracy=accuracy),
        encoding="utf-8")
    return folder


def tree(folder):
    """The files under ``folder`` with their sizes, as a small table."""
    folder = pathlib.Path(folder)
    rows = [(str(p.relative_to(folder)), p.stat().st_size)
            for p in sorted(folder.rglob("*")) if p.is_file()]
    return pd.DataFrame(rows, columns=["file", "bytes"])


def wrap(text, width=90):
    """Wrap a long text for printing in a narrow cell output."""
    return "\n".join(textwrap.fill(line, width) if line else "" for line in text.splitlines())


MIT_LICENCE = """MIT License

Copyright (c) {year} {holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
"""The MIT licence's text (as the Open Source Initiative publishes it), to fill in."""

ADULT_DATASHEET = {
    "Motivation": [
        ("For what purpose was the data set created?",
         "To study the prediction of whether a person's yearly income exceeds $50,000 from "
         "census attributes; it has since become a standard benchmark for classifiers and for "
         "fairness methods."),
        ("Who created it?", "Barry Becker extracted it from the 1994 United States census "
         "database; Becker and Ronny Kohavi donated it to the UCI Machine Learning Repository "
         "in 1996.")],
    "Composition": [
        ("What do the instances represent?", "Adults recorded in the 1994 census, one row each, "
         "anonymised: no names or addresses."),
        ("How many instances are there?", "This sample: 4,000 people drawn at random from the "
         "30,162 complete rows of the UCI training file."),
        ("Does it contain data that might be considered sensitive?", "Yes: sex, race, marital "
         "status, country of birth and income.")],
    "Collection process": [
        ("How was the data collected?", "By the United States Census Bureau's 1994 survey; the "
         "extraction kept reasonably clean records of adults who worked and reported income."),
        ("Over what time frame?", "1994. Incomes are in 1994 dollars; occupations and household "
         "roles reflect that year.")],
    "Preprocessing, cleaning and labelling": [
        ("What preprocessing was done?", "Rows with a missing value dropped; the sampling "
         "weight and the text copy of education removed; a random sample of 4,000 rows "
         "(see ch05-adult-sample.source.txt). The label high_income is 1 when income is >50K.")],
    "Uses": [
        ("What are appropriate uses?", "Teaching and research on classification, evaluation "
         "and fairness measurement."),
        ("What should it not be used for?", "Decisions about real people (credit, hiring, "
         "benefits), or claims about today's incomes: the data are three decades old and "
         "the census categories of sex and race are the 1994 ones.")],
    "Distribution": [
        ("Under what licence?", "Creative Commons Attribution 4.0 International (CC BY 4.0), "
         "as stated by the UCI repository: reuse is allowed with credit to Becker and Kohavi "
         "and a note of the changes."),
        ("Where is it available?", "https://doi.org/10.24432/C5XW20")],
    "Maintenance": [
        ("Who maintains it?", "The UCI Machine Learning Repository hosts the original; this "
         "sample is maintained with the course, and its source note records every change.")],
}
"""Answers to a datasheet's questions for the chapter's Adult sample, for aiopen.trust.datasheet."""

CARD_SECTIONS = ["intended use", "training data", "evaluation", "limitations", "licence"]
"""The sections every model card in the capstone must have (the exercise checks them too)."""


def missing_sections(card_text, sections=CARD_SECTIONS, min_words=15):
    """The required sections a Markdown model card lacks or leaves nearly empty.

    A section counts when a heading contains its name (case does not matter) and the text
    under that heading, up to the next heading, has at least ``min_words`` words.
    """
    found = {}
    heading, words = None, 0
    for line in card_text.splitlines() + ["# end"]:
        if line.lstrip().startswith("#"):
            if heading is not None:
                found[heading] = max(found.get(heading, 0), words)
            heading, words = line.strip("# ").lower(), 0
        else:
            words += len(line.split())
    return [name for name in sections
            if not any(name in head and n >= min_words for head, n in found.items())]
