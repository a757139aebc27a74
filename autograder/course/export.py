"""Grades back to the LMS: Canvas gradebook import, Moodle grading worksheet, plain CSV.

Formats followed (checked against each LMS's own documentation, 2024-2026 releases):

``canvas``
    Canvas Instructor Guide, "How do I import grades in the Gradebook?": a CSV with the
    columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section`` and one column
    per assignment named ``<assignment name> (<assignment id>)``; a column without an id
    creates a new assignment; the optional second line ``Points Possible`` gives its points.
    Students are matched by ``ID``; the other columns are copied from the roster export.
``moodle``
    Moodle assignment offline grading ("Upload grading worksheet", ``mod/assign``
    ``gradingtable`` / ``feedback/offline``): the worksheet the instructor downloaded, with
    ``Grade`` and ``Feedback comments`` filled in; rows are matched by ``Identifier``.
``csv``
    One line per roster student (or per result when no roster is given): ``student``,
    ``name``, one column per question, ``raw_total``, ``late_penalty``, ``total``, ``max``,
    ``status`` (``missing`` for a roster student without a result).

Totals are the penalised scores; ``scale`` multiplies them by ``scale / max`` so they fit the
LMS assignment's points.
"""

import csv
import io
from pathlib import Path

from ..exceptions import UsageError
from ..reporting.results import ResultStore, write_atomic
from .roster import read_roster

__all__ = ["export", "main", "FORMATS"]

FORMATS = ("canvas", "moodle", "csv")
_CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def main(results, *, format, out, roster=None, scale=None, column=None):
    """``autograder export``: write the gradebook of ``results`` (an OUT folder) to ``out``."""
    out = output_path(out)
    text, counts = export(results, format, roster=roster, scale=scale, column=column)
    write_atomic(out, text)
    print(f"{out}: {counts['graded']} grades in {format} format"
          + (f"; {counts['missing']} roster students without a result (left blank)"
             if counts["missing"] else "")
          + (f"; {counts['unknown']} results of students not in the roster (not exported): "
             + ", ".join(counts["unknown_ids"][:10]) if counts["unknown"] else ""))
    return 0


def export(results, format, *, roster=None, scale=None, column=None):
    """The export file's text and counts ``{graded, missing, unknown, unknown_ids}``.

    Parameters
    ----------
    results : str or Path
        A grading output folder (``autograder grade --out``).
    format : {"canvas", "moodle", "csv"}
    roster : str or Path, optional
        The LMS's roster export; needed for ``canvas`` and ``moodle``.
    scale : float, optional
        The LMS assignment's points; totals are rescaled to it.
    column : str, optional
        Canvas: the assignment column, e.g. ``Exercise 0 (4567)`` as in the roster export;
        by default the roster column whose name starts with the assignment's id or title,
        else a new column named after the assignment id.
    """
    if format not in FORMATS:
        raise UsageError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)}")
    store = ResultStore(results)
    stored = _results(store)
    if format != "csv" and roster is None:
        raise UsageError(f"--format {format} needs --roster: the {format.title()} export the "
                         "grades go back into (it says how the LMS names each student)")
    roster = read_roster(roster) if roster is not None else None
    if roster is not None and format != "csv" and roster.kind != format:
        raise UsageError(f"{roster.path} is a {roster.kind} roster, but --format {format} was "
                         f"asked for; give the {format.title()} export, or --format "
                         f"{roster.kind}")
    writer = {"canvas": _canvas, "moodle": _moodle, "csv": _plain}[format]
    return writer(stored, roster, scale, column)


def _results(store):
    results = {}
    for path in sorted(store.root.glob("*/result.json")):
        result = store.load(path.parent.name)
        if result is not None:
            results[result.student] = result
    if not results:
        raise UsageError(f"{store.root} holds no results; give the folder `autograder grade "
                         "--out` wrote")
    if len({r.assignment for r in results.values()}) > 1:
        raise UsageError(f"{store.root} holds results of several assignments; export each "
                         "assignment's folder on its own")
    return results


def _total(result, scale):
    if scale is None or not result.max:
        return round(result.score, 4)
    return round(result.score * scale / result.max, 4)


def _counts(results, roster):
    known = {s.id for s in roster.students} if roster else set(results)
    unknown = sorted(set(results) - known)
    return {"graded": len(set(results) & known), "missing": len(known - set(results)),
            "unknown": len(unknown), "unknown_ids": unknown}


def _comment(result):
    text = f"Score {result.score:g} of {result.max:g}."
    if result.late:
        text += (f" Late by {result.late['days_late']} day(s): {result.late['penalty']:g} "
                 f"points off ({result.raw_score:g} before the penalty).")
    if result.status != "graded":
        text += " The notebook could not be graded; see the feedback page."
    return text


def _canvas(results, roster, scale, column):
    assignment = next(iter(results.values())).assignment
    column = column or _canvas_column(roster, assignment)
    maximum = scale if scale is not None else next(iter(results.values())).max
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow([*_CANVAS_FIXED, column])
    out.writerow(["Points Possible", "", "", "", "", f"{maximum:g}"])
    for student in roster.students:
        result = results.get(student.id)
        grade = "" if result is None else f"{_total(result, scale):g}"
        out.writerow([*(student.row.get(c, "") for c in _CANVAS_FIXED), grade])
    return buffer.getvalue(), _counts(results, roster)


def _canvas_column(roster, assignment):
    for name in roster.columns:
        if name not in _CANVAS_FIXED and name.lower().startswith(assignment.lower()):
            return name
    return assignment


def _moodle(results, roster, scale, _column):
    columns = list(roster.columns)
    for needed in ("Grade", "Feedback comments"):
        if needed not in columns:
            columns.append(needed)
    buffer = io.StringIO()
    out = csv.DictWriter(buffer, columns, lineterminator="\n", extrasaction="ignore")
    out.writeheader()
    for student in roster.students:
        row = dict(student.row)
        result = results.get(student.id)
        if result is not None:
            row["Grade"] = f"{_total(result, scale):g}"
            row["Feedback comments"] = _comment(result)
            if scale is not None and "Maximum Grade" in row:
                row["Maximum Grade"] = f"{scale:g}"
        out.writerow(row)
    return buffer.getvalue(), _counts(results, roster)


def _plain(results, roster, scale, _column):
    first = next(iter(results.values()))
    questions = [q.id for q in first.questions]
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(["student", "name", *questions, "raw_total", "late_penalty", "total", "max",
                  "status"])
    people = roster.students if roster else []
    names = {s.id: s.name for s in people}
    ids = [s.id for s in people] if roster else sorted(results)
    maximum = scale if scale is not None else first.max
    for student in ids:
        result = results.get(student)
        if result is None:
            out.writerow([student, names.get(student, ""), *[""] * len(questions), "", "", "",
                          f"{maximum:g}", "missing"])
            continue
        scores = result.question_scores()
        raw = result.raw_score if result.raw_score is not None else result.score
        out.writerow([student, names.get(student, ""),
                      *(f"{scores.get(q, 0.0):g}" for q in questions), f"{raw:g}",
                      f"{(result.late or {}).get('penalty', 0.0):g}",
                      f"{_total(result, scale):g}", f"{maximum:g}", result.status])
    return buffer.getvalue(), _counts(results, roster)


def output_path(path):
    """``path`` as a Path, refusing a folder (the export is one file)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder; give a file name such as grades.csv")
    return path
