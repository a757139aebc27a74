"""The grading bundle: one JSON file with every test, the points and the reference answers.

It is written with mode 0600 next to the student notebook and must never be given to
students or placed where their code can read it.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import BundleError
from .source import Assignment, Check, Question

__all__ = ["Bundle", "write_bundle", "read_bundle"]

FORMAT = 1


@dataclass(frozen=True)
class Bundle:
    """A loaded grading bundle.

    Attributes
    ----------
    assignment : Assignment
        Header and questions (with hidden tests); ``cells`` is empty.
    reference : dict
        The reference (solution) notebook, nbformat 4 as a dict.
    sha256 : str
        Hash of the bundle file, recorded in every result.
    path : Path
        Where it was read from.
    """

    assignment: Assignment
    reference: dict
    sha256: str
    path: Path = None


def write_bundle(assignment, reference, path):
    """Write the bundle for ``assignment`` to ``path`` (mode 0600, deterministic JSON)."""
    data = {"format": FORMAT,
            "assignment": {"id": assignment.id, "title": assignment.title,
                           "cell_timeout": assignment.cell_timeout,
                           "timeout": assignment.timeout, "late": assignment.late},
            "questions": [_question_data(q) for q in assignment.questions],
            "reference": reference}
    text = json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def _question_data(q):
    return {"id": q.id, "kind": q.kind, "points": q.points, "answer": q.answer,
            "min_words": q.min_words, "discussion": q.discussion, "cell": q.cell,
            "manual": q.manual, "rubric": q.rubric,
            "tests": [{"name": c.name, "points": c.points, "hidden": c.hidden, "hint": c.hint,
                       "source": c.source, "cell": c.cell} for c in q.checks]}


def read_bundle(path):
    """Load a bundle written by :func:`write_bundle`.

    Raises
    ------
    BundleError
        If the file is missing, unreadable, not JSON, or not a bundle of this format.
    """
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"bundle {str(path)!r} not found: give the <id>-bundle.json file "
                          "written by `autograder assign SOURCE.ipynb --out DIR`")
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        head = data["assignment"]
        questions = tuple(_question(q) for q in data["questions"])
        assignment = Assignment(id=head["id"], title=head["title"],
                                cell_timeout=float(head["cell_timeout"]),
                                timeout=float(head["timeout"]), questions=questions, cells=(),
                                late=dict(head.get("late") or {}))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"{str(path)!r} is not a grading bundle ({exc}); regenerate it with "
                          "`autograder assign SOURCE.ipynb --out DIR`") from None
    return Bundle(assignment, data["reference"], hashlib.sha256(raw).hexdigest(), path)


def _question(q):
    checks = tuple(Check(**t) for t in q["tests"])
    return Question(id=q["id"], points=q["points"], kind=q["kind"], checks=checks,
                    answer=q["answer"], min_words=q["min_words"], discussion=q["discussion"],
                    cell=q["cell"], manual=bool(q.get("manual", False)),
                    rubric=q.get("rubric", ""))
