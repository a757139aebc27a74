"""Feedback to return: one zip per student with their feedback page and executed notebook.

``autograder feedback OUT --out FOLDER`` writes ``FOLDER/<student>.zip`` holding
``feedback.html`` and ``<student>.ipynb`` (their notebook with the outputs it produced when
graded). The LMSs take these as they are:

* Canvas: SpeedGrader attaches a file to a submission comment; for many students at once, use
  the ``canvas`` file names (``--names canvas`` writes ``<Canvas user id>.zip``) with a bulk
  upload tool or the Canvas API (``POST .../submissions/:user_id/comments/files``).
* Moodle: "Upload multiple feedback files in a zip" (assignment with feedback files enabled)
  expects the download's own file-name prefixes (``assignfeedback_file`` import); ``--names
  moodle`` writes one ``feedback.zip`` holding
  ``<Full name>_<participant id>_assignsubmission_file_<student>-feedback.zip`` per student,
  which Moodle matches to each participant by the name and number.
"""

import io
import zipfile
from pathlib import Path

from ..exceptions import UsageError
from ..reporting.results import ResultStore
from .roster import read_roster

__all__ = ["bundle_feedback", "main"]


def main(results, *, out, names="student", roster=None):
    """``autograder feedback``: write the per-student zips; return the exit status."""
    written, skipped = bundle_feedback(results, out, names=names, roster=roster)
    print(f"{out}: {len(written)} feedback zips written"
          + (f"; {len(skipped)} students skipped: " + "; ".join(skipped[:10]) if skipped else ""))
    return 0 if written else 1


def bundle_feedback(results, out, *, names="student", roster=None):
    """Write one zip per graded student into folder ``out``.

    Parameters
    ----------
    results : str or Path
        A grading output folder.
    out : str or Path
        Folder for the zips (created).
    names : {"student", "canvas", "moodle"}
        How zips are named: by student id; by Canvas user id; or Moodle's upload layout
        (one ``feedback.zip`` with a folder per participant).
    roster : str or Path, optional
        Needed for ``canvas`` and ``moodle`` names.

    Returns
    -------
    (list of Path, list of str)
        What was written, and why some students were skipped.
    """
    store = ResultStore(results)
    folders = sorted(p.parent for p in store.root.glob("*/result.json"))
    if not folders:
        raise UsageError(f"{store.root} holds no results; give the folder `autograder grade "
                         "--out` wrote")
    lms_names = _lms_names(names, roster)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    written, skipped, moodle = [], [], {}
    for folder in folders:
        student = folder.name
        page = folder / "feedback.html"
        if not page.is_file():
            skipped.append(f"{student}: no feedback.html (grade again)")
            continue
        if lms_names is not None and student not in lms_names:
            skipped.append(f"{student}: not in the roster")
            continue
        data = _zip(student, folder)
        if names == "moodle":
            moodle[f"{lms_names[student]}{student}-"] = data
            continue
        target = out / f"{lms_names[student] if lms_names else student}.zip"
        _write_bytes(target, data)
        written.append(target)
    if moodle:
        target = out / "feedback.zip"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for prefix, data in sorted(moodle.items()):
                archive.writestr(f"{prefix}feedback.zip", data)
        _write_bytes(target, buffer.getvalue())
        written.append(target)
    return written, skipped


def _zip(student, folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(folder / "feedback.html", "feedback.html")
        executed = folder / "executed.ipynb"
        if executed.is_file():
            archive.write(executed, f"{student}.ipynb")
    return buffer.getvalue()


def _lms_names(names, roster):
    if names == "student":
        return None
    if names not in ("canvas", "moodle"):
        raise UsageError(f"--names {names!r}: use student, canvas or moodle")
    if roster is None:
        raise UsageError(f"--names {names} needs --roster, the {names.title()} export that "
                         "says how the LMS names each student")
    roster = read_roster(roster)
    if roster.kind != names:
        raise UsageError(f"{roster.path} is a {roster.kind} roster; --names {names} needs the "
                         f"{names.title()} export")
    if names == "canvas":
        return {s.id: s.lms_id for s in roster.students}
    return {s.id: f"{s.name.replace('_', ' ')}_{s.lms_id}_assignsubmission_file_"
            for s in roster.students}


def _write_bytes(path, data):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
