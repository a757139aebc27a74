"""Submissions from an LMS's bulk download: unpack, match to the roster, grade.

File names in the archives, as each LMS writes them:

Canvas ("Download Submissions" on an assignment; canvas-lms ``ContentZipper``)::

    <sortable name, lower case, letters and digits>[_LATE]_<user id>_<attachment id>_<file>

    e.g. doejane_LATE_4821_99172_ex00.ipynb   (``LATE``: submitted after the due date;
    a resubmitted file may end ``-1``, ``-2`` before its extension)

Moodle ("Download all submissions"; ``mod/assign/classes/downloader.php`` in Moodle 4.x,
``locallib.php`` in 3.x)::

    <Full name>_<participant id>_assignsubmission_file/<file>        (in folders, Moodle 4)
    <Full name>_<participant id>_assignsubmission_file_/<file>       (in folders, Moodle 3)
    <Full name>_<participant id>_assignsubmission_file_<file>        (not in folders)

The participant id is the number of the worksheet's ``Participant <n>`` identifier. Canvas
archives carry no submission times (only the ``LATE`` mark); Moodle's grading worksheet
gives ``Last modified (submission)``, used as the submission time.
"""

import json
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..exceptions import UsageError
from ..grading.late import parse_time
from ..reporting.results import write_atomic
from .roster import read_roster

__all__ = ["Intake", "read_archive", "main"]

MAX_MEMBERS = 20000
MAX_MEMBER_BYTES = 50 * 1024 ** 2
MAX_TOTAL_BYTES = 8 * 1024 ** 3
_CANVAS = re.compile(r"^(?P<name>[^_/]*)(?P<late>_LATE)?_(?P<user>\d+)_(?P<file>\d+_.+)$")
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<user>\d+)_assignsubmission_(?P<plugin>[a-z]+)"
                     r"(?:_(?P<file>.*))?$")
_IGNORED = ("__MACOSX", ".DS_Store", "Thumbs.db")


@dataclass
class Intake:
    """What an archive held, matched to the roster.

    Attributes
    ----------
    kind : str
        ``canvas`` or ``moodle``.
    submissions : dict
        ``{student id: staged path}`` (a notebook, or a folder of the student's files).
    submitted_at : dict
        ``{student id: ISO 8601}`` where the LMS gives a time.
    marked_late : set
        Students the LMS marked late.
    unmatched : list of str
        Archive entries that belong to no roster student (or fit no naming pattern).
    missing : list of str
        Roster students with nothing in the archive.
    """

    kind: str
    submissions: dict = field(default_factory=dict)
    submitted_at: dict = field(default_factory=dict)
    marked_late: set = field(default_factory=set)
    unmatched: list = field(default_factory=list)
    missing: list = field(default_factory=list)

    def to_json(self):
        """The intake as JSON text (``OUT/intake.json``)."""
        return json.dumps({"lms": self.kind, "students": sorted(self.submissions),
                           "marked_late": sorted(self.marked_late),
                           "submitted_at": self.submitted_at, "unmatched": self.unmatched,
                           "missing": self.missing}, indent=1, sort_keys=True)


def read_archive(archive, roster, staging, lms=None):
    """Unpack an LMS archive into ``staging``, one notebook or folder per roster student.

    Parameters
    ----------
    archive : str or Path
        The zip the LMS gave.
    roster : Roster
        From :func:`autograder.course.roster.read_roster` (the same LMS's export).
    staging : Path
        An empty private folder.
    lms : {"canvas", "moodle"}, optional
        The archive's kind; guessed from the file names when not given.

    Raises
    ------
    UsageError
        When the file is not a zip, is unsafe (absolute or ``..`` paths, links, too big), or
        none of its names follows the chosen LMS's convention.
    """
    archive = Path(archive)
    try:
        handle = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{archive} is not a readable zip file ({exc}); download the "
                         "submissions from the LMS again") from None
    with handle:
        members = [m for m in handle.infolist() if not m.is_dir() and not _ignored(m)]
        _check(archive, members)
        kind = lms or _guess(archive, members)
        intake = Intake(kind)
        owners = _match(kind, members, roster, intake)
        if not owners and members:
            raise UsageError(_layout_error(archive, kind, members))
        for student, files in owners.items():
            intake.submissions[student] = _stage(handle, student, files, Path(staging))
    intake.missing = [s.id for s in roster.students if s.id not in intake.submissions]
    if roster.kind == "moodle":
        _moodle_times(roster, intake)
    return intake


def _ignored(member):
    return any(part in _IGNORED for part in PurePosixPath(member.filename).parts)


def _check(archive, members):
    if len(members) > MAX_MEMBERS:
        raise UsageError(f"{archive} holds {len(members)} files, more than {MAX_MEMBERS}; "
                         "download the submissions in smaller groups (by section)")
    if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
        raise UsageError(f"{archive} unpacks to more than {MAX_TOTAL_BYTES // 2**30} GB")
    for member in members:
        path = PurePosixPath(member.filename.replace("\\", "/"))
        kind = (member.external_attr >> 16) & 0o170000
        if path.is_absolute() or ".." in path.parts or kind not in (0, 0o100000):
            raise UsageError(f"{archive}: entry {member.filename!r} is an absolute path, "
                             "leaves the archive (..) or is a link; this is not an archive "
                             "the LMS made, so nothing was unpacked")


def _guess(archive, members):
    tops = [PurePosixPath(m.filename).parts[0] for m in members]
    canvas = sum(bool(_CANVAS.match(t)) for t in tops)
    moodle = sum(bool(_MOODLE.match(t)) for t in tops)
    if not canvas and not moodle:
        raise UsageError(_layout_error(archive, None, members))
    return "canvas" if canvas >= moodle else "moodle"


def _layout_error(archive, kind, members):
    example = ", ".join(repr(m.filename) for m in members[:3])
    expected = {"canvas": "Canvas names like doejane_4821_99172_ex00.ipynb",
                "moodle": "Moodle names like 'Jane Doe_4821_assignsubmission_file/ex00.ipynb'"}
    wanted = expected[kind] if kind else f"{expected['canvas']} or {expected['moodle']}"
    return (f"{archive}: no entry is named the way the LMS names submissions (found "
            f"{example}...; expected {wanted}); give the archive exactly as downloaded, or "
            "--lms canvas|moodle if the guess was wrong")


def _match(kind, members, roster, intake):
    """``{student id: [(member, file name)]}``; what matches no student goes to unmatched."""
    by_lms = roster.by_lms_id()
    owners = {}
    for member in members:
        parts = PurePosixPath(member.filename).parts
        found = (_CANVAS if kind == "canvas" else _MOODLE).match(parts[0])
        student = by_lms.get(found.group("user")) if found else None
        if student is None:
            intake.unmatched.append(member.filename)
            continue
        if kind == "canvas":
            name = found.group("file").split("_", 1)[1]
            if found.group("late"):
                intake.marked_late.add(student.id)
        else:
            name = "/".join(parts[1:]) or (found.group("file") or "")
        if not name:
            intake.unmatched.append(member.filename)
            continue
        owners.setdefault(student.id, []).append((member, name))
    return owners


def _stage(handle, student, files, staging):
    """Write one student's files: ``<id>.ipynb`` alone, else a folder ``<id>/``."""
    if len(files) == 1 and files[0][1].lower().endswith(".ipynb"):
        target = staging / f"{student}.ipynb"
        _copy(handle, files[0][0], target)
        return target
    folder = staging / student
    folder.mkdir(mode=0o700)
    for member, name in files:
        _copy(handle, member, folder / PurePosixPath(name).name)
    return folder


def _copy(handle, member, target):
    if member.file_size > MAX_MEMBER_BYTES:  # too big: stage an empty file; grading says why
        target.write_bytes(b"")
        return
    with handle.open(member) as source, open(target, "xb") as out:
        shutil.copyfileobj(source, out)


def _moodle_times(roster, intake):
    for student in roster.students:
        text = student.row.get("Last modified (submission)", "")
        if student.id in intake.submissions and text and text != "-":
            try:
                intake.submitted_at[student.id] = parse_time(text, None).isoformat()
            except UsageError:
                pass  # an unreadable time: no penalty, and the result says so


def main(bundle, archive, *, roster, out, lms=None, **options):
    """``autograder grade BUNDLE ARCHIVE --roster FILE``: unpack, match, list, grade.

    Writes ``OUT/intake.json`` (unmatched entries, students without a submission, late
    marks, times) and prints the unmatched and missing on stderr before grading.
    """
    from ..grading import grade as grading  # the grading stage, below this one
    roster = read_roster(roster)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = out / ".intake"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    try:
        intake = read_archive(archive, roster, staging, lms)
        write_atomic(out / "intake.json", intake.to_json())
        _report(archive, intake)
        options["submitted_at"] = {**intake.submitted_at, **options.get("submitted_at", {})}
        options["marked_late"] = frozenset(intake.marked_late)
        options["marks_late"] = intake.kind == "canvas"
        if not intake.submissions:
            return 1
        return grading.main(bundle, sorted(intake.submissions.values()), out=out, **options)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _report(archive, intake):
    print(f"autograder: {archive}: {len(intake.submissions)} submissions from {intake.kind}",
          file=sys.stderr)
    if intake.unmatched:
        print(f"autograder: {len(intake.unmatched)} archive entries match no roster student "
              f"(not graded): " + ", ".join(intake.unmatched[:20])
              + (" ..." if len(intake.unmatched) > 20 else ""), file=sys.stderr)
    if intake.missing:
        print(f"autograder: {len(intake.missing)} roster students have no submission: "
              + ", ".join(intake.missing[:20]) + (" ..." if len(intake.missing) > 20 else ""),
              file=sys.stderr)
