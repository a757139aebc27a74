"""Run one test against a student and judge reflections; the same code serves self-checks
(in the student's process) and grading (in the grader's process)."""

import re
import traceback
from dataclasses import dataclass

from ..exceptions import (AnswerMissingError, PlainDataError, QueryError, StudentCodeError)
from .hashing import matches_hash

__all__ = ["Outcome", "run_check", "judge_reflection", "count_words", "current_traceback"]

_STUDENT_FACING = (AnswerMissingError, StudentCodeError, PlainDataError, QueryError)
_DETAIL_CHARS = 2000


@dataclass
class Outcome:
    """The result of one test (or of a reflection's completion check).

    Attributes
    ----------
    name : str
        The test's label.
    points : float
        What it is worth.
    score : float
        What it earned (``points`` or 0).
    hidden : bool
        Whether the test is hidden from students until grading.
    hint : str
        The author's hint, shown when it fails.
    message : str
        Safe for students: what went wrong with their work (undefined name, their exception,
        unreadable value); empty for a plain wrong answer.
    detail : str
        For instructors only: the assertion message or traceback (may contain expected values).
    """

    name: str
    points: float
    score: float
    hidden: bool = False
    hint: str = ""
    message: str = ""
    detail: str = ""

    @property
    def passed(self):
        """True when the test earned its points."""
        return self.score >= self.points

    def student_text(self):
        """One line for students: pass/fail, the hint, then what went wrong with their work."""
        if self.passed:
            return "passed"
        parts = [p for p in (self.hint, self.message) if p]
        return "failed" + (": " + " ".join(parts) if parts else "")


def run_check(check, student):
    """Run ``check`` (a :class:`~autograder.authoring.source.Check`) against ``student``.

    Returns
    -------
    Outcome
        Never raises for a failing or broken test; the failure is described in the outcome.
    """
    outcome = Outcome(name=check.name, points=check.points, score=0.0, hidden=check.hidden,
                      hint=check.hint)
    try:
        namespace = {"__name__": "autograder_test", "matches_hash": matches_hash}
        exec(compile(check.source, f"<test {check.name!r}>", "exec"), namespace)
        namespace["test"](student)
    except AssertionError as exc:
        outcome.detail = _limit(f"AssertionError: {exc}" if str(exc) else "assertion failed")
    except _STUDENT_FACING as exc:
        outcome.detail = _limit(str(exc))
        outcome.message = _hidden_safe(exc) if check.hidden else outcome.detail
    except Exception:  # the test itself broke on this answer: a failure, explained to staff
        outcome.detail = _limit(current_traceback(limit=-3))
    else:
        outcome.score = check.points
    return outcome


def current_traceback(limit):
    """``traceback.format_exc(limit)``; the grader makes it safe across threads on Python 3.11
    (see :mod:`autograder.grading.grade`)."""
    return traceback.format_exc(limit=limit)


def judge_reflection(question, student):
    """Completion credit for a reflection: its points when ``min_words`` words are written.

    Returns
    -------
    tuple of (Outcome, str or None)
        The outcome and the student's text (None when unanswered).
    """
    outcome = Outcome(name=f"at least {question.min_words} words", points=question.points,
                      score=0.0, hint=f"Write at least {question.min_words} words in "
                      f"`{question.answer}` and run the cell.")
    try:
        text = student.get(question.answer)
    except _STUDENT_FACING as exc:
        outcome.message = outcome.detail = _limit(str(exc))
        return outcome, None
    if type(text) is not str:
        outcome.message = f"`{question.answer}` should be a string of text (in quotes)."
        return outcome, None
    words = count_words(text)
    outcome.detail = f"{words} words"
    if words >= question.min_words:
        outcome.score = question.points
    else:
        outcome.message = f"You have written {words} words so far."
    return outcome, text


def count_words(text):
    """Number of whitespace-separated words, ignoring the ``Write your answer here.`` stub."""
    stripped = text.strip()
    if stripped.lower().rstrip(".") == "write your answer here":
        return 0
    return len(stripped.split())


def _hidden_safe(exc):
    """What a student may read about a hidden test's failure: not the message of an error
    raised on the hidden inputs, which may echo them (``ValueError: bad value 4242424``)."""
    if isinstance(exc, AnswerMissingError):
        return str(exc)
    match = re.search(r"raised ([A-Za-z_][A-Za-z0-9_.]*)", str(exc))
    kind = f" ({match.group(1)})" if match else ""
    return f"your code failed on this hidden test's inputs{kind}; test it on more cases"


def _limit(text):
    return text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "..."
