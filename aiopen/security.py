"""Attacks and defences for chapter 5, small enough to read.

Each function does one step of an experiment in "Robustness, security and privacy":
adversarial examples by the fast gradient sign method, a backdoor trigger, a membership
inference attack by loss threshold, a differentially private logistic regression by output
perturbation, and two harmless demonstrations of software risks (a pickle that runs code when
loaded, and a rule-based stand-in for an assistant that obeys injected instructions).
"""

import numpy as np
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

__all__ = [
    "input_gradient", "fgsm", "random_sign_noise", "TRIGGER_PIXELS", "add_trigger", "poison",
    "people_features", "record_losses", "membership_advantage", "yeom_bound",
    "dp_logistic_regression",
    "NoisyPickle", "toy_assistant",
]


# ---- Adversarial examples ----------------------------------------------------------------

def _probabilities_and_backprop(model, X):
    """Class probabilities, and a function mapping d(loss)/d(logits) to d(loss)/d(inputs)."""
    if isinstance(model, LogisticRegression):
        coef = model.coef_
        logits = X @ coef.T + model.intercept_
        if coef.shape[0] == 1:  # binary: class 1 has logit z, class 0 has logit 0
            logits = np.hstack([np.zeros_like(logits), logits])
            coef = np.vstack([np.zeros_like(coef), coef])
        return softmax(logits, axis=1), lambda g: g @ coef
    if isinstance(model, MLPClassifier) and model.activation == "relu":
        acts = [X]
        for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
            acts.append(np.maximum(acts[-1] @ W + b, 0.0))
        logits = acts[-1] @ model.coefs_[-1] + model.intercepts_[-1]

        def backprop(g):
            g = g @ model.coefs_[-1].T
            for W, a in zip(reversed(model.coefs_[:-1]), reversed(acts[1:])):
                g = (g * (a > 0)) @ W.T
            return g
        return softmax(logits, axis=1), backprop
    raise TypeError(
        f"input_gradient supports LogisticRegression and MLPClassifier(activation='relu'), "
        f"not {type(model).__name__}.")


def input_gradient(model, X, y):
    """Gradient of the cross-entropy loss with respect to each input, computed analytically.

    Parameters
    ----------
    model : LogisticRegression or MLPClassifier (ReLU, softmax output)
        A fitted multiclass model.
    X : ndarray of shape (n, d)
        Inputs.
    y : ndarray of shape (n,)
        True labels (values from ``model.classes_``).

    Returns
    -------
    ndarray of shape (n, d)
    """
    probs, backprop = _probabilities_and_backprop(model, np.asarray(X, dtype=float))
    onehot = (np.asarray(y)[:, None] == model.classes_[None, :]).astype(float)
    return backprop(probs - onehot)


def fgsm(model, X, y, eps, *, low=0.0, high=1.0):
    """Fast gradient sign method (Goodfellow et al. 2015): one step of size ``eps`` per pixel
    in the direction that increases the loss, kept inside the valid range [low, high]."""
    step = eps * np.sign(input_gradient(model, X, y))
    return np.clip(X + step, low, high)


def random_sign_noise(X, eps, rng, *, low=0.0, high=1.0):
    """Noise of the same size as an FGSM step (each pixel moves by ``eps``), random direction."""
    signs = rng.choice([-1.0, 1.0], size=np.shape(X))
    return np.clip(X + eps * signs, low, high)


# ---- Data poisoning ----------------------------------------------------------------------

#: Pixels (row, column) of the 8x8 digits that the backdoor trigger inks: a short bar at the
#: right edge, where real digits almost never have ink.
TRIGGER_PIXELS = [(2, 7), (3, 7), (4, 7)]


def add_trigger(X):
    """Copy of the flattened 8x8 images ``X`` (values in [0, 1]) with the trigger inked."""
    X = np.array(X, dtype=float, copy=True)
    for row, col in TRIGGER_PIXELS:
        X[:, row * 8 + col] = 1.0
    return X


def poison(X, y, n_poison, target, rng):
    """Add ``n_poison`` triggered copies of randomly chosen training images, labelled ``target``."""
    if n_poison == 0:
        return X, y
    idx = rng.choice(np.flatnonzero(y != target), size=n_poison, replace=False)
    X_bad = add_trigger(X[idx])
    return np.vstack([X, X_bad]), np.concatenate([y, np.full(n_poison, target)])


# ---- Membership inference ----------------------------------------------------------------

def people_features(table, categories, bounds):
    """Numeric features of the Adult table, each row of length at most 1.

    Categorical columns become 0/1 indicators (one per category listed in ``categories``);
    each numeric column is clipped to fixed public bounds and scaled to [0, 1] (capital gains
    and losses on a log scale); a constant 1 stands in for the intercept. Dividing by the
    square root of the number of parts then bounds every row's length by 1 without looking at
    the data, as differential privacy requires.
    """
    parts = [(table[col].to_numpy()[:, None] == np.asarray(cats)[None, :]).astype(float)
             for col, cats in categories.items()]
    for col, (low, high) in bounds.items():
        values = table[col].clip(low, high).to_numpy(dtype=float)
        if col.startswith("capital"):
            values, low, high = np.log1p(values), np.log1p(low), np.log1p(high)
        parts.append(((values - low) / (high - low))[:, None])
    parts.append(np.ones((len(table), 1)))
    return np.hstack(parts) / np.sqrt(len(categories) + len(bounds) + 1)


def record_losses(model, X, y):
    """Cross-entropy loss of each record's true label: small when the model is sure and right."""
    probs = model.predict_proba(X)
    col = np.searchsorted(model.classes_, np.asarray(y))
    return -np.log(np.clip(probs[np.arange(len(col)), col], 1e-12, 1.0))


def membership_advantage(member_losses, nonmember_losses, threshold):
    """Advantage of the attack "a record was in the training data if its loss is at most
    ``threshold``" (Yeom et al. 2018): true-positive rate minus false-positive rate."""
    tpr = np.mean(np.asarray(member_losses) <= threshold)
    fpr = np.mean(np.asarray(nonmember_losses) <= threshold)
    return float(tpr - fpr)


def yeom_bound(epsilon):
    """Largest membership advantage any attack can have against an epsilon-DP training
    algorithm (Yeom et al. 2018, Theorem 1): e^epsilon - 1, and never more than 1."""
    return float(min(1.0, np.expm1(epsilon)))


# ---- Differential privacy ----------------------------------------------------------------

def dp_logistic_regression(X, y, epsilon, rng, *, lam=1e-3):
    """Logistic regression made epsilon-differentially private by output perturbation.

    This is Algorithm 1 of Chaudhuri, Monteleoni and Sarwate (2011): fit the L2-regularised
    model exactly, then add noise whose size is calibrated to how far one person's record
    can move the weights (at most 2 / (n * lam)). It requires every row of ``X`` to have
    length at most 1 and labels 0/1; there is no separate intercept (add a constant column).

    Parameters
    ----------
    X : ndarray of shape (n, d), rows of norm <= 1
    y : ndarray of shape (n,), values 0 and 1
    epsilon : float
        Privacy budget; ``np.inf`` returns the non-private model.
    rng : numpy.random.Generator
    lam : float, default=1e-3
        Regularisation strength of the objective (1/n) sum loss + (lam/2) |w|^2.

    Returns
    -------
    LogisticRegression
        A fitted scikit-learn model whose ``coef_`` carries the noise.
    """
    X = np.asarray(X, dtype=float)
    if np.linalg.norm(X, axis=1).max() > 1.0 + 1e-9:
        raise ValueError("dp_logistic_regression needs rows of length at most 1; "
                         "divide the features by a fixed bound first.")
    n, d = X.shape
    model = LogisticRegression(C=1.0 / (n * lam), fit_intercept=False, tol=1e-10,
                               max_iter=10_000).fit(X, y)
    if np.isfinite(epsilon):
        direction = rng.standard_normal(d)
        direction /= np.linalg.norm(direction)
        size = rng.gamma(shape=d, scale=2.0 / (n * lam * epsilon))
        model.coef_ = model.coef_ + size * direction
    return model


# ---- Software supply chain and prompt injection ------------------------------------------

class NoisyPickle:
    """An object whose pickle runs a function when loaded: here only ``print``.

    A real attacker would name ``os.system`` or similar instead of ``print``; the mechanism,
    ``__reduce__``, is exactly the same.
    """

    def __init__(self, message):
        self.message = message

    def __reduce__(self):
        return (print, (self.message,))


def toy_assistant(task, document, *, secret, obey_document=True):
    """A rule-based stand-in for an LLM assistant that summarises a document. NOT a model.

    It imitates one failure real systems show: text in the document that looks like an
    instruction is treated as one. Lines starting "ASSISTANT:" are obeyed when
    ``obey_document`` is true; the only instruction it understands is to add a link, and it
    fills in ``{secret}`` the way an injected prompt asks a real model to. With
    ``obey_document=False`` the document is treated strictly as data.
    """
    lines = [line.strip() for line in document.strip().splitlines() if line.strip()]
    content = [line for line in lines if not line.startswith("ASSISTANT:")]
    reply = [f"{task}: " + " ".join(content)[:120] + "..."]
    if obey_document:
        for line in lines:
            if line.startswith("ASSISTANT:"):
                reply.append(line.removeprefix("ASSISTANT:").strip().format(secret=secret))
    return "\n".join(reply)
