"""Salted answer hashes, so public checks can test an answer without containing it."""

import hashlib
import math
import numbers
import secrets

from ..exceptions import PlainDataError

__all__ = ["answer_hash", "matches_hash"]

_SCHEME = "ag1"
DEFAULT_DECIMALS = 3


def answer_hash(value, *, decimals=DEFAULT_DECIMALS, salt=None):
    """Return a salted digest of an answer, to paste into a public test.

    Parameters
    ----------
    value : str, bool, int, float, None or a list/tuple of these
        The right answer. Strings are compared stripped and case-folded, numbers after
        rounding to ``decimals`` places (so 2 and 2.0 hash alike).
    decimals : int, default=3
        Decimal places kept for numbers; stored in the digest.
    salt : str, optional
        Hex salt; a random one is drawn when omitted.

    Returns
    -------
    str
        ``"ag1$<decimals>$<salt>$<sha256 hex>"``.

    Examples
    --------
    >>> digest = answer_hash("Paris")
    >>> matches_hash(" paris ", digest)
    True
    """
    salt = secrets.token_hex(8) if salt is None else salt
    if not salt or any(c not in "0123456789abcdef" for c in salt):
        raise ValueError(f"salt must be lowercase hex, got {salt!r}")
    text = f"{salt}\n{_normal_form(value, int(decimals))}"
    return f"{_SCHEME}${int(decimals)}${salt}${hashlib.sha256(text.encode()).hexdigest()}"


def matches_hash(value, digest, *, decimals=None):
    """Tell whether ``value`` is the answer whose digest is ``digest``.

    Parameters
    ----------
    value : object
        The student's answer (plain data).
    digest : str
        A digest made by :func:`answer_hash` or ``autograder hash VALUE``.
    decimals : int, optional
        Decimal places for numbers; defaults to the digest's own (3 unless set when hashing).

    Returns
    -------
    bool
        False also when the value cannot be hashed (e.g. an object or an array).
    """
    parts = digest.split("$") if isinstance(digest, str) else []
    if len(parts) != 4 or parts[0] != _SCHEME or not parts[1].isdigit():
        raise ValueError(f"{digest!r} is not a digest made by autograder.answer_hash; "
                         "make one with `autograder hash VALUE`")
    places = int(parts[1]) if decimals is None else int(decimals)
    try:
        expected = answer_hash(value, decimals=places, salt=parts[2])
    except PlainDataError:
        return False
    return secrets.compare_digest(expected.split("$")[3], parts[3])


def _normal_form(value, decimals):
    if value is None:
        return "none"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return f"bool:{bool(value)}"
    if isinstance(value, str):
        return "str:" + value.strip().casefold()
    if isinstance(value, numbers.Real):
        number = round(float(value), decimals)
        if math.isnan(number):
            return "num:nan"
        return f"num:{number + 0.0:.{decimals}f}"
    if isinstance(value, (list, tuple)):
        return "list:[" + ",".join(_normal_form(v, decimals) for v in value) + "]"
    raise PlainDataError(f"answer_hash takes a str, number, bool, None or a list of these, "
                         f"not {type(value).__name__}")
