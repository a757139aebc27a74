"""Plumbing for chapter 8 (open foundation models): texts, a character n-gram language model,
tokenizer measurements and explorer panels.

The language model is deliberately small enough to read: it counts which character follows
each context of up to ``order - 1`` characters, and predicts with Witten-Bell interpolation,
which mixes the counts of long and short contexts. Its "weights" are a table of counts, saved
with NumPy, so the chapter can show what releasing a model's numbers lets others do.
"""

import collections
import html
import math
import re
import string
import unicodedata

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from aiopen.datasets import read_table

__all__ = [
    "ALPHABET", "normalise", "load_books", "load_udhr", "split_udhr", "CharNGram",
    "learning_curve", "generation_panel", "train_bpe", "token_counts", "mof_class",
]

ALPHABET = "\n" + string.ascii_letters + string.digits + " .,;:!?'\"()-*&"
"""The characters the model knows: newline, letters, digits, space and common punctuation."""

_REPLACE = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2014": "--",
            "\u2013": "-", "_": ""}


def normalise(text):
    """Plain text in ``ALPHABET``: curly quotes straightened, dashes spelt ``--``, italics marks
    (``_``) dropped, accents removed, other characters dropped and runs of spaces collapsed."""
    for old, new in _REPLACE.items():
        text = text.replace(old, new)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if ch in ALPHABET)
    return re.sub(r" +", " ", text)


def load_books():
    """The chapter's two public-domain books as normalised text, one paragraph a line.

    Returns
    -------
    dict of str to str
        ``"alice"`` (Carroll, *Alice's Adventures in Wonderland*) and ``"holmes"`` (Conan Doyle,
        the first two stories of *The Adventures of Sherlock Holmes*); see
        ``chapters/data/ch08-books.source.txt``.
    """
    books = read_table("ch08-books")
    books = books[~books["text"].str.fullmatch(r"[* ]+")]  # drop the rows of asterisks
    return {name: normalise("\n".join(group["text"])) + "\n"
            for name, group in books.groupby("book", sort=False)}


def load_udhr():
    """Articles 1-30 of the Universal Declaration of Human Rights in twelve languages.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (ISO 639-3), ``language``, ``script`` and ``text``; see
        ``chapters/data/ch08-udhr.source.txt``.
    """
    return read_table("ch08-udhr")


_ARTICLE_16 = {
    "eng": "Article 16", "spa": "Artículo 16", "fra": "Article 16", "deu": "Artikel 16",
    "tur": "Madde 16", "vie": "16:", "swh": "Kifungu cha 16.", "rus": "Статья 16",
    "arb": "المادة 16", "hin": "अनुच्छेद १६.", "tam": "உறுப்புரை 16", "cmn_hans": "第十六条",
}


def split_udhr(udhr):
    """Split each translation at the heading of Article 16.

    Returns
    -------
    pandas.DataFrame
        ``udhr`` with ``first`` (Articles 1-15) and ``second`` (Articles 16-30) columns.
    """
    firsts, seconds = [], []
    for code, text in zip(udhr["code"], udhr["text"]):
        lines = text.split("\n")
        marker = _ARTICLE_16[code]
        cut = next(i for i, line in enumerate(lines)
                   if line == marker or (code == "vie" and line.endswith(marker)))
        firsts.append("\n".join(lines[:cut]))
        seconds.append("\n".join(lines[cut:]))
    return udhr.assign(first=firsts, second=seconds)


class CharNGram:
    """A character n-gram language model with Witten-Bell interpolation.

    Parameters
    ----------
    order : int, default=5
        The model predicts each character from the ``order - 1`` characters before it.

    Attributes
    ----------
    grams : collections.Counter
        How often each string of 1 to ``order`` characters was seen: the model's numbers.
        Counts may be fractional after :meth:`scaled`.
    """

    def __init__(self, order=5):
        if order < 1:
            raise ValueError(f"order must be 1 or more; got {order!r}.")
        self.order = order
        self.grams = collections.Counter()
        self._stats = None

    def update(self, text):
        """Add the counts of ``text`` (in ``ALPHABET``) to the model; returns the model."""
        index = {ch: i for i, ch in enumerate(ALPHABET)}
        codes = np.array([index[ch] for ch in text], dtype=np.int64)
        gram_codes = np.zeros(len(codes), dtype=np.int64)
        for k in range(min(self.order, len(codes))):
            # gram_codes[i] numbers the string text[i - k:i + 1] in base len(ALPHABET)
            gram_codes[k:] = gram_codes[k - 1:-1] * len(ALPHABET) + codes[k:] if k else codes
            _, first, n = np.unique(gram_codes[k:], return_index=True, return_counts=True)
            self.grams.update({text[i:i + k + 1]: int(c) for i, c in zip(first, n)})
        self._stats = None
        return self

    def fit(self, text):
        """Forget all counts and learn from ``text``; returns the model."""
        self.grams = collections.Counter()
        return self.update(text)

    def scaled(self, factor):
        """A copy whose counts are multiplied by ``factor`` (how much a prior model weighs)."""
        copy = CharNGram(self.order)
        copy.grams = collections.Counter({g: n * factor for g, n in self.grams.items()})
        return copy

    def _context_stats(self):
        """For each context: total count of what followed it, and how many different characters."""
        if self._stats is None:
            totals, types = collections.Counter(), collections.Counter()
            for gram, n in self.grams.items():
                totals[gram[:-1]] += n
                types[gram[:-1]] += 1
            self._stats = totals, types
        return self._stats

    def probability(self, history, char):
        """Probability that ``char`` comes after ``history``."""
        totals, types = self._context_stats()
        p = 1 / len(ALPHABET)
        for k in range(min(self.order - 1, len(history)) + 1):
            context = history[len(history) - k:]
            total = totals.get(context)
            if not total:
                break
            seen = types[context]
            p = (self.grams.get(context + char, 0) + seen * p) / (total + seen)
        return p

    def distribution(self, history):
        """Probabilities of each character of ``ALPHABET`` after ``history``."""
        totals, types = self._context_stats()
        p = np.full(len(ALPHABET), 1 / len(ALPHABET))
        for k in range(min(self.order - 1, len(history)) + 1):
            context = history[len(history) - k:]
            total = totals.get(context)
            if not total:
                break
            row = np.array([self.grams.get(context + ch, 0) for ch in ALPHABET], dtype=float)
            p = (row + types[context] * p) / (total + types[context])
        return p

    def perplexity(self, text):
        """Per-character perplexity of ``text``: exp of the mean negative log probability."""
        context = self.order - 1
        logs = [math.log(self.probability(text[max(0, i - context):i], ch))
                for i, ch in enumerate(text)]
        return math.exp(-sum(logs) / len(logs))

    def generate(self, length, *, prompt="", temperature=1.0, seed=0):
        """Sample ``length`` characters after ``prompt``; a lower temperature is more cautious."""
        rng = np.random.default_rng(seed)
        text = prompt
        for _ in range(length):
            p = self.distribution(text[max(0, len(text) - (self.order - 1)):])
            p = p ** (1 / temperature)
            text += ALPHABET[rng.choice(len(ALPHABET), p=p / p.sum())]
        return text

    def to_arrays(self):
        """The model as two arrays: context strings, and a contexts x ``ALPHABET`` count matrix."""
        contexts = sorted({g[:-1] for g in self.grams}, key=lambda c: (len(c), c))
        row = {c: i for i, c in enumerate(contexts)}
        column = {ch: j for j, ch in enumerate(ALPHABET)}
        table = np.zeros((len(contexts), len(ALPHABET)), dtype=np.float32)
        for gram, n in self.grams.items():
            table[row[gram[:-1]], column[gram[-1]]] = n
        return np.array(contexts), table

    def save(self, path):
        """Write the model to ``path`` as a NumPy ``.npz`` file of numbers."""
        contexts, table = self.to_arrays()
        np.savez_compressed(path, order=self.order, contexts=contexts, counts=table)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`."""
        with np.load(path) as data:
            model = cls(int(data["order"]))
            rows, cols = np.nonzero(data["counts"])
            contexts, counts = data["contexts"].tolist(), data["counts"]
            model.grams = collections.Counter(
                {contexts[r] + ALPHABET[c]: counts[r, c].item() for r, c in zip(rows, cols)})
        return model


def learning_curve(base, domain_train, domain_test, sizes, *, order=5, prior_weight=1.0):
    """Held-out perplexity on the domain, from scratch and adapted from ``base``.

    Parameters
    ----------
    base : CharNGram
        The model trained on general text (the "foundation model").
    domain_train, domain_test : str
        Text of the new domain to learn from and to test on.
    sizes : list of int
        Numbers of domain characters to learn from (the first ``size`` of ``domain_train``).
    prior_weight : float, default=1.0
        Multiplies the base model's counts before the domain's counts are added.

    Returns
    -------
    list of dict
        One row per size: ``characters``, ``from scratch`` and ``adapted`` perplexity.
    """
    rows = []
    for size in sizes:
        piece = domain_train[:size]
        scratch = CharNGram(order).fit(piece)
        adapted = base.scaled(prior_weight).update(piece)
        rows.append({"characters": size, "from scratch": scratch.perplexity(domain_test),
                     "adapted": adapted.perplexity(domain_test)})
    return rows


def generation_panel(sample, perplexity, characters):
    """HTML for one explorer panel: a generated sample and the model's held-out perplexity."""
    return (f"<p>Trained on the first <strong>{characters:,}</strong> characters; held-out "
            f"perplexity <strong>{perplexity:.2f}</strong>.</p>"
            "<pre style=\"white-space:pre-wrap;word-break:break-word;font-size:0.9em\">"
            f"{html.escape(sample)}</pre>")


def train_bpe(texts, vocab_size=4000):
    """Train a byte-level BPE tokenizer (Hugging Face ``tokenizers``) on ``texts``.

    Byte-level means that any text can be encoded: a character the vocabulary lacks falls back
    to its UTF-8 bytes, one token each, so no text is ever "unknown", only expensive.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def token_counts(tokenizer, texts):
    """Number of tokens ``tokenizer`` (a ``tokenizers.Tokenizer``) gives each text."""
    return [len(tokenizer.encode(text).ids) for text in texts]


def mof_class(licence_type, code_released, data_released):
    """A simplified reading of the Model Openness Framework class of a release.

    The framework (White et al. 2024) checks 17 components, each under an open licence. This
    reading checks only three columns of ``chapters/data/ch08-open-models.csv``: weights under a
    permissive licence (needed for any class), training code (Class II) and training data
    (Class I). It is an upper bound: a release may miss a class for documentation it lacks.

    Returns
    -------
    str
        ``"Class I"``, ``"Class II"``, ``"Class III"`` or ``"not classed"``.
    """
    if licence_type != "permissive":
        return "not classed"
    if code_released == "training":
        return "Class I" if data_released == "yes" else "Class II"
    return "Class III"
