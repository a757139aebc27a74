"""Self-check for students: public tests and discussions embedded in the notebook itself.

In the student notebook::

    from autograder import Checker
    check = Checker("<embedded data>")
    check("q1")     # after answering question q1
    check.all()     # at the end

The embedded data is public (public tests and discussions only): base64 of JSON made by
:func:`encode_public` (not compressed, so that it is byte-for-byte the same on every machine).
"""

import base64
import binascii
import html
import json
import sys
from dataclasses import dataclass, field

from ..exceptions import AutograderError
from .judge import judge_reflection, run_check
from ..authoring.source import Check, Question
from .student import LocalStudent

__all__ = ["Checker", "QuestionReport", "encode_public"]

FORMAT = 1
_LINE = 76


def encode_public(assignment):
    """Return the embedded-data string for an :class:`~autograder.authoring.source.Assignment`.

    Only public tests, hints and discussions are included; hidden tests never are.
    The result is deterministic and wrapped in lines of 76 characters.

    Parameters
    ----------
    assignment : Assignment
        The parsed source.

    Returns
    -------
    str
    """
    questions = [_public_question(q) for q in assignment.questions]
    payload = {"format": FORMAT, "assignment": assignment.id, "title": assignment.title,
               "questions": questions}
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    text = base64.b64encode(raw).decode("ascii")
    return "\n".join(text[i:i + _LINE] for i in range(0, len(text), _LINE))


def _public_question(q):
    public = [c for c in q.checks if not c.hidden]
    return {"id": q.id, "kind": q.kind, "points": q.points, "answer": q.answer,
            "min_words": q.min_words, "discussion": q.discussion,
            "hidden_points": sum(c.points for c in q.checks if c.hidden),
            "tests": [{"name": c.name, "points": c.points, "hint": c.hint, "source": c.source}
                      for c in public]}


def decode_public(text):
    """Inverse of :func:`encode_public`; returns ``(assignment id, title, questions)``."""
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
        payload = json.loads(raw)
        if payload.get("format") != FORMAT:
            raise ValueError(f"format {payload.get('format')!r}")
        questions = [_question(q) for q in payload["questions"]]
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AutograderError(
            f"this notebook's self-check data is damaged ({exc}); download a fresh copy of "
            "the exercise notebook and paste your answers into it") from None
    return payload["assignment"], payload["title"], questions


def _question(q):
    checks = tuple(Check(name=t["name"], points=t["points"], hidden=False, hint=t["hint"],
                         source=t["source"], cell=0) for t in q["tests"])
    question = Question(id=q["id"], points=q["points"], kind=q["kind"], checks=checks,
                        answer=q["answer"], min_words=q["min_words"],
                        discussion=q["discussion"])
    return question, q["hidden_points"]


@dataclass
class QuestionReport:
    """What a self-check found for one question.

    Attributes
    ----------
    question : Question
        The question (public part).
    outcomes : list of Outcome
        One per public test (or the reflection's completion check).
    hidden_points : float
        Points in hidden tests, only run at grading.
    discussion : str
        The author's discussion, once a reflection is answered; else empty.
    """

    question: Question
    outcomes: list = field(default_factory=list)
    hidden_points: float = 0.0
    discussion: str = ""

    @property
    def score(self):
        """Points earned in the checks run here."""
        return sum(o.score for o in self.outcomes)

    @property
    def checked_points(self):
        """Points the checks run here are worth."""
        return sum(o.points for o in self.outcomes)

    def headline(self):
        """One line summing up the question."""
        q = self.question
        if q.kind == "reflection":
            state = "answer recorded" if self.score else "not answered yet"
            return f"{q.id} (reflection): {state}"
        passed = sum(o.passed for o in self.outcomes)
        line = f"{q.id}: {passed} of {len(self.outcomes)} public tests passed"
        if self.hidden_points:
            line += f" (hidden tests worth {_points(self.hidden_points)} run at grading)"
        return line

    def to_text(self):
        """Plain-text rendering."""
        lines = [self.headline()]
        lines += [f"  {'PASS' if o.passed else 'FAIL'}  {o.name}: {o.student_text()}"
                  for o in self.outcomes]
        if self.discussion:
            lines += ["", "Discussion from the author:", self.discussion]
        return "\n".join(lines)

    def to_html(self):
        """HTML rendering (a heading and a table; never test source or expected values)."""
        rows = "".join(
            f"<tr><td>{'&#10004; pass' if o.passed else '&#10008; fail'}</td>"
            f"<td>{html.escape(o.name)}</td><td>{html.escape(o.student_text())}</td></tr>"
            for o in self.outcomes)
        return (f'<div class="autograder-check"><p><strong>{html.escape(self.headline())}'
                f'</strong></p><table><thead><tr><th scope="col">Result</th>'
                f'<th scope="col">Test</th><th scope="col">Details</th></tr></thead>'
                f"<tbody>{rows}</tbody></table></div>")


class Checker:
    """Check answers against the public tests embedded in the notebook.

    Parameters
    ----------
    data : str
        The embedded data written by ``autograder assign``.
    namespace : dict, optional
        Where the answers live; defaults to the notebook's (IPython ``user_ns`` or
        ``__main__``).
    """

    def __init__(self, data, namespace=None):
        self.assignment, self.title, self._questions = decode_public(data)
        self._namespace = namespace

    @property
    def questions(self):
        """Question ids in order."""
        return [q.id for q, _ in self._questions]

    def run(self, qid):
        """Run the public checks of question ``qid`` and return a :class:`QuestionReport`."""
        for question, hidden in self._questions:
            if question.id == qid:
                return self._report(question, hidden)
        raise KeyError(f"there is no question {qid!r} in {self.title!r}; questions are "
                       f"{', '.join(self.questions)}")

    def __call__(self, qid):
        """Run and show the checks of question ``qid``."""
        _show(self.run(qid))

    def all(self):
        """Run and show the checks of every question, with a total."""
        reports = [self.run(qid) for qid in self.questions]
        for report in reports:
            _show(report)
        earned = sum(r.score for r in reports)
        possible = sum(r.checked_points for r in reports)
        hidden = sum(r.hidden_points for r in reports)
        summary = f"Public checks: {earned:g} of {_points(possible)}."
        if hidden:
            summary += f" Hidden tests worth {_points(hidden)} more run when your work is graded."
        _show_text(summary)
        return None

    def _report(self, question, hidden):
        student = LocalStudent(self._namespace if self._namespace is not None
                               else _user_namespace())
        if question.kind == "reflection":
            outcome, text = judge_reflection(question, student)
            discussion = question.discussion if outcome.passed else ""
            return QuestionReport(question, [outcome], 0.0, discussion)
        outcomes = [run_check(check, student) for check in question.checks]
        return QuestionReport(question, outcomes, hidden)


def _points(number):
    return f"{number:g} point" + ("" if number == 1 else "s")


def _user_namespace():
    shell = _ipython()
    return shell.user_ns if shell is not None else sys.modules["__main__"].__dict__


def _ipython():
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython
    return get_ipython()


def _show(report):
    if getattr(_ipython(), "kernel", None) is None:
        print(report.to_text())
        return
    from IPython.display import HTML, Markdown, display
    display(HTML(report.to_html()))
    if report.discussion:
        display(Markdown("**Discussion from the author**\n\n" + report.discussion))


def _show_text(text):
    if getattr(_ipython(), "kernel", None) is None:
        print(text)
        return
    from IPython.display import HTML, display
    display(HTML(f"<p><strong>{html.escape(text)}</strong></p>"))

