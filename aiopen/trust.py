"""Plumbing for chapter 6 (safety and trust tools).

Three small toolkits the chapter's notebooks call, so that their cells stay short:

- a probe harness: named checks with a pass/fail criterion, run against a fitted scikit-learn
  model (section 6.2);
- a datasheet writer that lays out answers under the section headings of Gebru et al.'s
  "Datasheets for Datasets" (section 6.1; the model card itself is written with skops);
- the "green list" watermark of Kirchenbauer et al. (2023) on a word bigram language model
  trained on a public-domain text, with the detector's z-test, a word-substitution attack,
  perplexity, and the HTML panels of the watermark explorer (section 6.3).
"""

import html
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from aiopen.datasets import read_table

__all__ = [
    "Probe", "run_probes", "DATASHEET_SECTIONS", "COMPAS_DATASHEET", "datasheet",
    "tokenize", "load_shakespeare", "BigramLM", "green_mask", "z_score", "green_counts",
    "substitute", "watermark_panel", "UNK", "compas_splits", "compas_probes", "package_facts",
]

# --------------------------------------------------------------------------------------------
# A probe harness
# --------------------------------------------------------------------------------------------


@dataclass
class Probe:
    """One check in an evaluation harness.

    Attributes
    ----------
    name : str
        Short name shown in the report.
    tests : str
        What the probe asks, in words.
    measure : callable
        ``measure(model, X, context) -> float``: the measured value.
    criterion : str
        The pass criterion in words, e.g. ``"<= 0.01"``.
    passes : callable
        ``passes(value) -> bool``.
    """

    name: str
    tests: str
    measure: Callable
    criterion: str
    passes: Callable


def run_probes(model, X, probes, context=None):
    """Run each probe against a fitted model and report what it measured and whether it passed.

    Parameters
    ----------
    model : fitted scikit-learn estimator
    X : pandas.DataFrame
        The inputs the probes start from (for example the test set).
    probes : list of Probe
    context : dict, optional
        Anything else the probes need (true labels, group labels...).

    Returns
    -------
    pandas.DataFrame
        One row per probe: ``probe``, ``tests``, ``measured``, ``criterion``, ``result``.
    """
    rows = []
    for probe in probes:
        value = float(probe.measure(model, X, context or {}))
        rows.append({"probe": probe.name, "tests": probe.tests, "measured": round(value, 3),
                     "criterion": probe.criterion,
                     "result": "pass" if probe.passes(value) else "FAIL"})
    return pd.DataFrame(rows).set_index("probe")


# --------------------------------------------------------------------------------------------
# Datasheets
# --------------------------------------------------------------------------------------------

DATASHEET_SECTIONS = ["Motivation", "Composition", "Collection process",
                      "Preprocessing, cleaning and labelling", "Uses", "Distribution",
                      "Maintenance"]
"""The seven sections of a datasheet, in the order of Gebru et al. (2021)."""


def datasheet(title, answers):
    """A datasheet as Markdown text: each section's questions and answers, in Gebru's order.

    Parameters
    ----------
    title : str
        The data set's name.
    answers : dict of str to list of (str, str)
        For each section of ``DATASHEET_SECTIONS``, a list of (question, answer) pairs.

    Returns
    -------
    str
    """
    missing = [s for s in DATASHEET_SECTIONS if not answers.get(s)]
    if missing:
        raise ValueError(f"A datasheet answers every section; add answers for {missing}.")
    lines = [f"# Datasheet: {title}", ""]
    for section in DATASHEET_SECTIONS:
        lines += [f"## {section}", ""]
        for question, answer in answers[section]:
            lines += [f"- **{question}** {answer}"]
        lines.append("")
    return "\n".join(lines)


COMPAS_DATASHEET = {
    "Motivation": [
        ("For what purpose was the data set created?", "ProPublica assembled it in 2016 to test whether the COMPAS risk score made different errors for Black and white defendants; the course uses a reduced copy to teach fairness measurement."),
        ("Who created it, and who funded it?", "ProPublica's journalists (Larson, Mattu, Kirchner, Angwin), from public records; the source note names no other funder.")],
    "Composition": [
        ("What do the instances represent?", "People assessed with COMPAS before trial in Broward County, Florida, in 2013-2014: one row per person."),
        ("How many instances are there?", "5,278: 3,175 Black and 2,103 white defendants."),
        ("Is there a label?", "two_year_recid: 1 if the person was charged with a new offence within two years."),
        ("Does it identify people, or contain sensitive data?", "Names, dates of birth and case numbers were removed; race, sex, age and criminal history remain, which are sensitive.")],
    "Collection process": [
        ("How was the data acquired?", "Scores from the Broward County Sheriff's Office through public-records requests, joined by ProPublica with county court records."),
        ("Were the people concerned notified, or did they consent?", "No: these are public records; the source records no notice or consent.")],
    "Preprocessing, cleaning and labelling": [
        ("What was done to the raw data?", "ProPublica's filter (charge and assessment dates within 30 days, ordinary charges, a valid score), then only Black and white defendants and eleven columns."),
        ("Is the raw data available?", "Yes, in ProPublica's compas-analysis repository, at the commit named in the source note.")],
    "Uses": [
        ("What has it been used for?", "Studies of fairness in risk assessment, and many fairness toolkits' examples."),
        ("What should it not be used for?", "Building or validating a tool for real decisions: it is one county, a decade old, and the label records charges, not crimes.")],
    "Distribution": [
        ("How is it distributed, and under what terms?", "As a CSV in this course's repository and package; ProPublica's repository has no licence file, so the course redistributes only a de-identified subset, with attribution, for teaching.")],
    "Maintenance": [
        ("Who maintains it?", "Nobody: ProPublica's repository has not changed since 2017. The course keeps its copy unchanged and records its source."),
        ("Will errors be corrected?", "Not at the source; errors found in the copy would be noted in its source file.")],
}
"""Datasheet answers for chapter 4's table, from its source note (ch04-compas.source.txt)."""


# --------------------------------------------------------------------------------------------
# A small language model and the green-list watermark
# --------------------------------------------------------------------------------------------

UNK = "<unk>"
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|[.,!?;:]")


def tokenize(text):
    """Lower-case words (with inner apostrophes) and the punctuation marks . , ! ? ; :"""
    return _TOKEN.findall(text.lower())


def load_shakespeare(train_share=0.9):
    """The chapter's text as two token lists: the first ``train_share`` of its lines, the rest.

    The text is ``chapters/data/ch06-tinyshakespeare.csv`` (see its ``.source.txt``).
    """
    lines = read_table("ch06-tinyshakespeare")["line"].astype(str).tolist()
    cut = int(len(lines) * train_share)
    return tokenize(" ".join(lines[:cut])), tokenize(" ".join(lines[cut:]))


def _mix(x):
    """splitmix64's finaliser: turns nearby integers into unrelated 64-bit values."""
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def green_mask(size, gamma=0.25, key=15485863):
    """Which word is green after which: ``mask[prev, word]`` is True for green words.

    Each (previous word, word) pair is hashed with a secret ``key``; the word is green when the
    hash, read as a number between 0 and 1, is below ``gamma``. So after any word, each word of
    the vocabulary is green with probability ``gamma``, independently, and without the key the
    lists look random.

    Parameters
    ----------
    size : int
        Vocabulary size.
    gamma : float, default=0.25
        Share of the vocabulary that is green.
    key : int
        The secret key.
    """
    prev = np.arange(size, dtype=np.uint64)[:, None]
    word = np.arange(size, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        h = _mix(_mix(np.uint64(key) + prev) + word)
    return (h >> np.uint64(11)).astype(np.float64) / 2.0**53 < gamma


class BigramLM:
    """A word bigram language model: P(word | previous word), smoothed with word frequencies.

    Parameters
    ----------
    vocab_size : int, default=3000
        Keep the most frequent words; the others become ``<unk>``.
    weight : float, default=0.8
        Weight of the bigram estimate; the rest goes to the word's overall frequency, so that
        every word has some probability after every other.
    """

    def __init__(self, vocab_size=3000, weight=0.8):
        self.vocab_size, self.weight = vocab_size, weight

    def fit(self, tokens):
        words = pd.Series(tokens).value_counts()
        self.vocab_ = list(words.index[: self.vocab_size - 1]) + [UNK]
        self.index_ = {w: i for i, w in enumerate(self.vocab_)}
        ids = self.encode(tokens)
        V = len(self.vocab_)
        pairs = ids[:-1] * V + ids[1:]
        counts = np.bincount(pairs, minlength=V * V).reshape(V, V).astype(np.float64)
        unigram = np.bincount(ids, minlength=V) / len(ids)
        rows = counts.sum(axis=1, keepdims=True)
        bigram = np.divide(counts, rows, out=np.tile(unigram, (V, 1)), where=rows > 0)
        self.logp_ = np.log(self.weight * bigram + (1 - self.weight) * unigram).astype(np.float32)
        self.unigram_ = unigram
        return self

    def encode(self, tokens):
        """Token ids; words outside the vocabulary get the id of ``<unk>``."""
        unk = self.index_[UNK]
        return np.array([self.index_.get(t, unk) for t in tokens], dtype=np.int64)

    def decode(self, ids):
        return [self.vocab_[i] for i in ids]

    def generate(self, starts, length, *, green=None, delta=0.0, seed=0):
        """Sample ``length`` words after each start word, all texts at once.

        With ``green`` (a mask from :func:`green_mask`) and ``delta`` > 0, this is the soft
        watermark: ``delta`` is added to the log-probability of every green word before sampling.

        Returns
        -------
        numpy.ndarray of shape (len(starts), length + 1)
            Token ids, the start word first. ``<unk>`` is never generated.
        """
        rng = np.random.default_rng(seed)
        out = np.empty((len(starts), length + 1), dtype=np.int64)
        out[:, 0] = starts
        unk = self.index_[UNK]
        cumulative = self._cumulative_weights(green, delta)
        for t in range(1, length + 1):
            rows = cumulative[out[:, t - 1]]
            u = rng.random(len(starts)) * rows[:, -1]
            out[:, t] = np.minimum((rows < u[:, None]).sum(axis=1), unk - 1)
        return out

    def _cumulative_weights(self, green, delta):
        """Running sums of each row's sampling weights (``<unk>`` gets none), computed once for
        all rows so that sampling a word only has to look one row up."""
        logits = self.logp_
        if green is not None and delta:
            logits = logits + np.float32(delta) * green
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights[:, self.index_[UNK]] = 0.0
        return np.cumsum(weights, axis=1)

    def perplexity(self, ids):
        """exp of the mean negative log-probability of each word given the one before it.

        ``ids`` is one sequence or a 2-D array of sequences (one value per row).
        """
        ids = np.atleast_2d(ids)
        nll = -self.logp_[ids[:, :-1], ids[:, 1:]].astype(np.float64).mean(axis=1)
        return np.exp(nll)


def green_counts(ids, green):
    """How many words of each sequence are green given the word before them (the first word of
    a sequence only sets the context), and how many were scored."""
    ids = np.atleast_2d(ids)
    return green[ids[:, :-1], ids[:, 1:]].sum(axis=1), ids.shape[1] - 1


def z_score(n_green, n_tokens, gamma=0.25):
    """The detector's z-statistic: how far the green count is above what chance gives.

    Without a watermark each word is green with probability ``gamma``, so the count of green
    words among ``n_tokens`` has mean ``gamma * n_tokens`` and variance
    ``n_tokens * gamma * (1 - gamma)``.
    """
    n_green = np.asarray(n_green, dtype=float)
    return (n_green - gamma * n_tokens) / np.sqrt(n_tokens * gamma * (1 - gamma))


def substitute(ids, share, lm, seed=0):
    """Replace a random ``share`` of the words (not the first) by words drawn at random with
    their overall frequencies: a crude paraphrase that needs no key."""
    rng = np.random.default_rng(seed)
    ids = np.array(ids, copy=True)
    hit = rng.random(ids.shape) < share
    hit[:, 0] = False
    p = lm.unigram_.copy()
    p[lm.index_[UNK]] = 0
    ids[hit] = rng.choice(len(p), size=int(hit.sum()), p=p / p.sum())
    return ids


def _highlight(words, flags):
    spans = [f'<span style="background:#b7e4c7">{html.escape(w)}</span>' if g
             else html.escape(w) for w, g in zip(words, flags)]
    return " ".join(spans)


def watermark_panel(lm, green, ids, delta, length, gamma=0.25, threshold=4.0):
    """HTML for one setting of the watermark explorer.

    Parameters
    ----------
    ids : numpy.ndarray
        Generated texts (rows) at this ``delta``, at least ``length`` + 1 tokens long.
    length : int
        How many generated words the detector sees.
    """
    texts = ids[:, : length + 1]
    n_green, n = green_counts(texts, green)
    z = z_score(n_green, n, gamma)
    ppl = lm.perplexity(texts)
    example = texts[0]
    flags = [False] + list(green[example[:-1], example[1:]])
    return (
        f"<p><strong>{(z > threshold).mean():.0%}</strong> of {len(z)} texts detected "
        f"(z &gt; {threshold:g}); median z = {np.median(z):.1f}; "
        f"green share {n_green.sum() / (n * len(z)):.0%} (chance: {gamma:.0%}); "
        f"perplexity under the unwatermarked model {np.median(ppl):.0f} (median).</p>"
        f"<p style='font-size:0.9em'>First text, green words shaded: "
        f"{_highlight(lm.decode(example), flags)}</p>"
    )


# --------------------------------------------------------------------------------------------
# The model the chapter documents and probes
# --------------------------------------------------------------------------------------------


def compas_splits(test_size=0.3, seed=0):
    """Chapter 4's COMPAS table, split into training and test parts the same way every time.

    Returns
    -------
    dict
        ``X_train``, ``X_test`` (the seven model inputs of :func:`aiopen.fairness.features`),
        ``y_train``, ``y_test`` (charged again within two years), ``group_train``,
        ``group_test`` ("Black" or "White"; not a model input).
    """
    from sklearn.model_selection import train_test_split

    from aiopen.fairness import features, load_compas

    compas = load_compas()
    parts = train_test_split(features(compas), compas["two_year_recid"], compas["group"],
                             test_size=test_size, random_state=seed,
                             stratify=compas["two_year_recid"])
    names = ["X_train", "X_test", "y_train", "y_test", "group_train", "group_test"]
    return dict(zip(names, parts))


def _changed(model, X, edit):
    return float((model.predict(edit(X.copy())) != model.predict(X)).mean())


def _answers_impossible_inputs(model, X, context):
    impossible = pd.DataFrame([X.iloc[0]] * 3, columns=X.columns)
    impossible.iloc[0, X.columns.get_loc("age")] = -5
    impossible.iloc[1, X.columns.get_loc("age")] = 250
    impossible.iloc[2, X.columns.get_loc("priors_count")] = -3
    answered = 0
    for i in range(len(impossible)):
        try:
            model.predict_proba(impossible.iloc[[i]])
            answered += 1
        except ValueError:
            pass
    return answered / len(impossible)


def _fpr_gap(model, X, context):
    y, group, pred = np.asarray(context["y"]), np.asarray(context["group"]), model.predict(X)
    rates = [pred[(group == g) & (y == 0)].mean() for g in np.unique(group)]
    return max(rates) - min(rates)


def compas_probes():
    """The chapter's harness: six probes of a model over the COMPAS inputs.

    The subgroup probe needs ``context={"y": ..., "group": ...}`` for the rows probed.
    """
    return [
        Probe("sex flip", "share of decisions that change when only sex is flipped",
              lambda m, X, c: _changed(m, X, lambda Z: Z.assign(female=1 - Z["female"])),
              "<= 0.01", lambda v: v <= 0.01),
        Probe("one year older", "share of decisions that change when age rises by one year",
              lambda m, X, c: _changed(m, X, lambda Z: Z.assign(age=Z["age"] + 1)),
              "<= 0.02", lambda v: v <= 0.02),
        Probe("one more prior", "share of people whose predicted risk FALLS with one more prior offence",
              lambda m, X, c: float((m.predict_proba(X.assign(priors_count=X["priors_count"] + 1))[:, 1]
                                     < m.predict_proba(X)[:, 1]).mean()),
              "== 0", lambda v: v == 0),
        Probe("impossible inputs", "share of impossible records (age -5 or 250, -3 priors) given a score",
              _answers_impossible_inputs, "== 0 (refuse them)", lambda v: v == 0),
        Probe("false positive gap", "largest gap in false positive rate between Black and white defendants",
              _fpr_gap, "<= 0.05", lambda v: v <= 0.05),
        Probe("accuracy", "share of test defendants classified correctly",
              lambda m, X, c: float((m.predict(X) == np.asarray(c["y"])).mean()),
              ">= 0.65", lambda v: v >= 0.65),
    ]


def package_facts(uses):
    """Version and licence of installed packages, as a catalogue of tools would list them.

    Parameters
    ----------
    uses : dict of str to str
        Maps each distribution name (as pip knows it) to what the chapter used it for.

    Returns
    -------
    pandas.DataFrame
        ``used for``, ``version``, ``licence`` (the declared licence expression, else the
        first line of the licence file shipped with the package).
    """
    from importlib.metadata import distribution

    rows = {}
    for name, use in uses.items():
        dist = distribution(name)
        licence = dist.metadata.get("License-Expression") or ""
        if not licence:
            files = [f for f in dist.files or [] if "LICENSE" in f.name.upper()]
            licence = files[0].read_text().strip().splitlines()[0] if files else "not stated"
        rows[name] = {"used for": use, "version": dist.version, "licence": licence}
    return pd.DataFrame(rows).T
