"""Results of grading: data shapes, JSON form, and atomic writing to the output folder.

Layout of the output folder::

    OUT/<student>/result.json     full result (for instructors; written last: it marks completion)
    OUT/<student>/results.json    Gradescope format
    OUT/<student>/feedback.html   feedback page for the student
    OUT/<student>/executed.ipynb  the student's notebook with the outputs it produced here
    OUT/<student>/manual.json     points and comments given by hand (kept across regrades)
    OUT/gradebook.csv             one row per student
    OUT/summary.html              score distribution per question
"""

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..judging.judge import Outcome
from ..sandbox.run import Problem

__all__ = ["QuestionResult", "Result", "ResultStore", "write_atomic"]

VERSION = 1


@dataclass
class QuestionResult:
    """Score of one question.

    Attributes
    ----------
    id, kind : str
        The question.
    score, max : float
        Points earned and possible.
    tests : list of Outcome
        One per test (one completion check for a reflection).
    answer_text : str or None
        A reflection's text, for the instructor to read.
    manual : dict or None
        ``{"points": float, "comment": str}`` given by hand in review; when set, ``score`` is
        ``manual["points"]`` and ``auto_score`` keeps what the tests gave.
    auto_score : float or None
        The tests' score, kept when a manual score replaces it.
    answer_code : str or None
        The answer cells' source of a code question reviewed by hand, for the review page.
    """

    id: str
    kind: str
    score: float
    max: float
    tests: list = field(default_factory=list)
    answer_text: str = None
    manual: dict = None
    auto_score: float = None
    answer_code: str = None


@dataclass
class Result:
    """Everything about one graded (or ungradable) submission.

    Attributes
    ----------
    student, assignment : str
        Who and what.
    status : str
        ``graded``; ``failed`` (the input could not be graded: bad JSON, not a notebook...);
        or ``error`` (the grader itself failed; re-running retries it).
    score, max : float
        Total points (after any late penalty).
    raw_score : float or None
        Points before the late penalty (manual scores included); None in results written
        before penalties existed.
    submitted_at : str or None
        When the student submitted (ISO 8601), from the LMS archive or a times file.
    late : dict or None
        The late penalty applied: ``{"deadline", "submitted_at", "days_late", "penalty",
        "policy"}`` (``penalty`` in points); None when on time or no deadline was given.
    questions : list of QuestionResult
    problems : list of Problem
        Errors met, each with its cell number.
    notes : list of str
        Restarts, upgrades and the like.
    sandbox : dict
        What isolation the kernel got (network, user, mounts).
    bundle_sha256, submission_sha256 : str
        What was graded; a re-run skips results whose hashes match.
    seconds : float
        Time spent.
    """

    student: str
    assignment: str
    status: str
    score: float = 0.0
    max: float = 0.0
    questions: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    sandbox: dict = field(default_factory=dict)
    bundle_sha256: str = ""
    submission_sha256: str = ""
    seconds: float = 0.0
    raw_score: float = None
    submitted_at: str = None
    late: dict = None

    def to_json(self):
        """JSON text (sorted keys)."""
        return json.dumps({"version": VERSION, **asdict(self)}, indent=1, sort_keys=True,
                          allow_nan=False)

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        data.pop("version", None)
        data["questions"] = [QuestionResult(**{**q, "tests": [Outcome(**t) for t in q["tests"]]})
                             for q in data["questions"]]
        data["problems"] = [Problem(**p) for p in data["problems"]]
        return cls(**data)

    def rescore(self):
        """Recompute ``raw_score`` and ``score`` from the questions and the late penalty."""
        self.raw_score = sum(q.score for q in self.questions)
        penalty = (self.late or {}).get("penalty", 0.0)
        self.score = max(0.0, round(self.raw_score - penalty, 6))
        return self

    def apply_manual(self, manual):
        """Replace question scores by ``manual`` ``{question id: {"points", "comment"}}``.

        Unknown question ids are ignored; points are kept within 0 and the question's maximum
        (the review step validates them before they are stored). Returns ``self``.
        """
        for question in self.questions:
            given = (manual or {}).get(question.id)
            if question.auto_score is None:
                question.auto_score = question.score
            if given is None:
                question.manual, question.score = None, question.auto_score
                continue
            question.manual = {"points": float(given["points"]),
                               "comment": str(given.get("comment", ""))}
            question.score = min(max(question.manual["points"], 0.0), question.max)
        return self.rescore()

    def question_scores(self):
        """``{question id: score}``."""
        return {q.id: q.score for q in self.questions}


def write_atomic(path, text):
    """Write ``text`` to ``path`` via a temporary file and ``os.replace`` (mode 0600).

    Text a student's code produced may hold lone surrogates, which UTF-8 cannot encode; they
    are written as ``\\udXXX`` escapes (valid inside JSON strings too). On any failure the
    temporary file is removed and ``path`` keeps its previous content.
    """
    path = Path(path)
    data = text.encode("utf-8", "backslashreplace")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class ResultStore:
    """The output folder of a grading run.

    Parameters
    ----------
    root : str or Path
        Created if missing (mode 0700).
    """

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def folder(self, student):
        """The folder of one student's files."""
        path = self.root / student
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def load(self, student):
        """The stored result of ``student``, or None when absent or unreadable."""
        try:
            return Result.from_json((self.root / student / "result.json").read_text())
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def manual(self, student):
        """Manual scores of ``student`` (``{question id: {"points", "comment"}}``), or {}."""
        try:
            data = json.loads((self.root / student / "manual.json").read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.root / student / 'manual.json'} is unreadable ({exc}); "
                             "restore it or delete it and merge the review CSV again") from None
        return data if isinstance(data, dict) else {}

    def save_manual(self, student, manual):
        """Store manual scores of ``student`` atomically (merged into later regrades)."""
        write_atomic(self.folder(student) / "manual.json",
                     json.dumps(manual, indent=1, sort_keys=True, allow_nan=False))

    def is_done(self, student, bundle_sha, submission_sha):
        """True when a finished result for these exact bundle and submission exists."""
        result = self.load(student)
        return (result is not None and result.status in ("graded", "failed")
                and result.bundle_sha256 == bundle_sha
                and result.submission_sha256 == submission_sha)

    def all_results(self, assignment):
        """Every stored result of ``assignment``, sorted by student."""
        return list(self.iter_results(assignment))

    def iter_results(self, assignment):
        """Every stored result of ``assignment``, sorted by student, loaded one at a time
        (so a batch of any size is reported in constant memory)."""
        for path in sorted(self.root.glob("*/result.json")):
            result = self.load(path.parent.name)
            if result is not None and result.assignment == assignment:
                yield result
