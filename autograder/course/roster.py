"""Class lists exported from an LMS: who the students are and how the LMS names them.

Three kinds are read, told apart by their header line:

``canvas``
    The Canvas gradebook export (Grades > Export > Export Entire Gradebook): columns
    ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per
    assignment named ``<name> (<assignment id>)``; a second line ``Points Possible`` and, in
    courses with it, a ``Student, Test`` row. Layout as documented in the Canvas Instructor
    Guide, "How do I export grades in the Gradebook?" and "How do I import grades in the
    Gradebook?" (Canvas LMS, 2024-2026 releases).
``moodle``
    The Moodle assignment's grading worksheet (View all submissions > Download grading
    worksheet; Moodle 4.x ``mod/assign`` offline grading): ``Identifier`` (``Participant
    <n>``), ``Full name``, ``Email address``, ``Status``, ``Grade``, ``Maximum Grade``,
    ``Grade can be changed``, ``Last modified (submission)``, ``Last modified (grade)``,
    ``Feedback comments``.
``plain``
    A CSV with ``student_id``, ``name`` and optionally ``email``.

The student id used for result folders is the Canvas ``SIS Login ID`` (else the Canvas user
``ID``), the Moodle email address (else ``participant-<n>``), or the plain ``student_id``,
made safe for file names as :func:`autograder.grading.submission.student_id` does.
"""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import UsageError
from ..grading.submission import student_id

__all__ = ["RosterStudent", "Roster", "read_roster"]

_CANVAS = ("Student", "ID")
_MOODLE = ("Identifier", "Full name")
_PLAIN = ("student_id", "name")
_PARTICIPANT = re.compile(r"^\s*Participant\s+(\d+)\s*$", re.I)


@dataclass(frozen=True)
class RosterStudent:
    """One student of a roster.

    Attributes
    ----------
    id : str
        The id results are stored under.
    name : str
    lms_id : str
        Canvas user id, or Moodle participant number (as in archive file names).
    email : str
    row : dict
        The roster line as read, to write it back on export.
    """

    id: str
    name: str
    lms_id: str = ""
    email: str = ""
    row: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Roster:
    """A read roster.

    Attributes
    ----------
    kind : str
        ``canvas``, ``moodle`` or ``plain``.
    path : Path
    columns : list of str
        Its header line.
    students : list of RosterStudent
    extra_rows : list of dict
        Canvas lines that are not students (``Points Possible``, a test student).
    """

    kind: str
    path: Path
    columns: list
    students: list = field(default_factory=list)
    extra_rows: list = field(default_factory=list)

    def by_lms_id(self):
        """``{LMS id: student}``."""
        return {s.lms_id: s for s in self.students if s.lms_id}

    def by_id(self):
        """``{student id: student}``."""
        return {s.id: s for s in self.students}


def read_roster(path):
    """Read a Canvas, Moodle or plain roster CSV.

    Raises
    ------
    UsageError
        When the file cannot be read, its header fits none of the kinds (naming the columns
        each needs), or two students get the same id (naming the lines).
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            rows = [{(k or "").strip(): (v or "").strip() if isinstance(v, str) else v
                     for k, v in row.items()} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read the roster {path} ({exc}); export it again from the "
                         "LMS as CSV (UTF-8)") from None
    kind = _kind(path, columns)
    roster = Roster(kind, path, columns)
    seen = {}
    for line, row in enumerate(rows, start=2):
        student = _student(kind, row)
        if student is None:
            roster.extra_rows.append(row)
            continue
        if not student.id:
            raise UsageError(f"{path}, line {line}: this student has no id; fill in "
                             f"{_ID_COLUMN[kind]} or delete the line")
        if student.id in seen:
            raise UsageError(f"{path}, lines {seen[student.id]} and {line}: both give student "
                             f"id {student.id!r}; each student must appear once")
        seen[student.id] = line
        roster.students.append(student)
    return roster


_ID_COLUMN = {"canvas": "ID", "moodle": "Identifier", "plain": "student_id"}


def _kind(path, columns):
    for kind, needed in (("canvas", _CANVAS), ("moodle", _MOODLE), ("plain", _PLAIN)):
        if all(c in columns for c in needed):
            return kind
    raise UsageError(
        f"{path}: the header {', '.join(columns) or '(empty)'} is not a roster this grader "
        "reads; it needs the Canvas gradebook export's columns Student and ID, the Moodle "
        "grading worksheet's Identifier and Full name, or student_id and name (plain CSV)")


def _student(kind, row):
    if kind == "canvas":
        name = row.get("Student", "")
        if not row.get("ID") or "points possible" in name.lower() or name == "Student, Test":
            return None
        key = row.get("SIS Login ID") or row.get("ID")
        return RosterStudent(_safe(key), name, row.get("ID", ""),
                             row.get("SIS Login ID", ""), row)
    if kind == "moodle":
        match = _PARTICIPANT.match(row.get("Identifier", ""))
        number = match.group(1) if match else ""
        email = row.get("Email address", "")
        key = email or (f"participant-{number}" if number else "")
        return RosterStudent(_safe(key), row.get("Full name", ""), number, email, row)
    key = row.get("student_id", "")
    return RosterStudent(_safe(key), row.get("name", ""),
                         key, row.get("email", ""), row)


def _safe(key):
    """``key`` as a file-name-safe student id (``""`` for none)."""
    return student_id(Path(f"{key}.id")) if key else ""
