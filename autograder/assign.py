"""``autograder assign``: make the student notebook and the grading bundle, then verify them.

The student notebook has solutions stubbed, hidden tests, discussions and markers removed,
outputs cleared, and the public checks embedded in a ``Checker`` cell. The bundle holds all
tests and the reference notebook. Verification grades the reference (must earn full marks)
and the blank student notebook (must earn zero on every question).
"""

import copy
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .authoring.bundle import read_bundle, write_bundle
from .judging.checker import encode_public
from .exceptions import FormatError, VerificationError
from .grading.grade import GradeOptions, grade
from .grading.late import policy_from
from .authoring.source import parse_source, source_text
from .authoring.stubs import stub_solutions

__all__ = ["AssignOutput", "assign", "main", "student_notebook", "reference_notebook"]

NBFORMAT_MINOR = 5


@dataclass(frozen=True)
class AssignOutput:
    """Paths written by :func:`assign`."""

    notebook: Path
    bundle: Path


def main(source, *, out, verify=True, workers=2):
    """CLI entry: assign ``source`` into ``out``; return the exit status."""
    output = assign(source, out, verify=verify, workers=workers)
    print(f"student notebook: {output.notebook}\ngrading bundle:   {output.bundle} "
          "(keep it private)")
    return 0


def assign(source, out, *, verify=True, workers=2):
    """Write ``<id>.ipynb`` (student) and ``<id>-bundle.json`` (grading) into ``out``.

    Parameters
    ----------
    source : str or Path
        The source notebook in the authoring format.
    out : str or Path
        Output folder (created if needed).
    verify : bool, default=True
        Grade the reference and the blank notebook and stop on any mismatch.
    workers : int, default=2
        Kernels used for verification.

    Raises
    ------
    FormatError
        If the source breaks the format.
    VerificationError
        If the reference does not earn full marks or the blank notebook earns points.
    """
    nb = read_notebook(source)
    assignment = parse_source(nb)
    policy_from(assignment.late, Path(source).name)  # a bad late policy fails here, not later
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reference = reference_notebook(assignment)
    bundle_path = write_bundle(assignment, reference, out / f"{assignment.id}-bundle.json")
    student = student_notebook(assignment)
    notebook_path = out / f"{assignment.id}.ipynb"
    notebook_path.write_text(write_notebook(student), encoding="utf-8")
    if verify:
        verify_bundle(bundle_path, student, workers)
    return AssignOutput(notebook_path, bundle_path)


def read_notebook(path):
    """Read a source notebook as nbformat 4, with a clear error when it is not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise FormatError([f"{path}: file not found"]) from None
    except Exception as exc:  # nbformat's many read errors
        raise FormatError([f"{path}: not a readable notebook ({exc})"]) from None


def write_notebook(nb):
    """Serialize a notebook deterministically."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nbformat.writes(nb)


def student_notebook(assignment):
    """Build the student notebook for a parsed ``assignment``."""
    colab = _colab_cell(assignment)
    cells = []
    for item in assignment.cells:
        if item.cell is colab or item.role in ("test", "discussion"):
            continue
        if item.role == "marker":
            if _ends_question(item):
                cells.append(_code(f'check("{_closing(assignment, item)}")', "check"))
            continue
        cell = _copy_cell(item.cell)
        if item.role == "answer":
            where = f"cell {item.number} (question {item.question})"
            cell["source"] = stub_solutions(source_text(item.cell), where=where)
            cell["metadata"]["autograder"] = {"question": item.question}
        cells.append(cell)
    cells.append(_code("check.all()", "check"))
    return _notebook(assignment, _with_checker(assignment, colab, cells))


def _with_checker(assignment, colab, cells):
    """Put the Colab cell first, then the title (if the notebook opens with text), then the
    cell that creates the checker: folded away in the book, as its data is long."""
    head = [_copy_cell(colab)] if colab else []
    if cells and cells[0]["cell_type"] == "markdown":
        head.append(cells.pop(0))
    checker = _code("# Self-check: run this cell first; it loads the public tests.\n"
                    "from autograder import Checker\n"
                    f'check = Checker("""\n{encode_public(assignment)}\n""")', "checker")
    checker["metadata"]["tags"] = ["hide-input"]
    return head + [checker] + cells


def reference_notebook(assignment):
    """Build the reference notebook: the student notebook's cells with solutions kept."""
    colab = _colab_cell(assignment)
    cells = [_copy_cell(colab)] if colab else []
    for item in assignment.cells:
        if item.cell is colab or item.role in ("test", "discussion", "marker"):
            continue
        cell = _copy_cell(item.cell)
        if item.role == "answer":
            cell["metadata"]["autograder"] = {"question": item.question}
        cells.append(cell)
    return _notebook(assignment, cells)


def _colab_cell(assignment):
    for item in assignment.cells:
        if item.cell.get("cell_type") == "code":
            tags = item.cell.get("metadata", {}).get("tags", [])
            text = source_text(item.cell)
            return item.cell if "remove-cell" in tags and "google.colab" in text else None
    return None


def _ends_question(item):
    return source_text(item.cell).strip().upper().startswith("# END QUESTION")


def _closing(assignment, marker):
    before = [q for q in assignment.questions if q.cell < marker.number]
    return before[-1].id


def _copy_cell(cell):
    cell = copy.deepcopy(dict(cell))
    cell.pop("id", None)
    cell["source"] = source_text(cell)
    cell["metadata"] = dict(cell.get("metadata", {}))
    cell["metadata"].pop("autograder", None)
    if cell["cell_type"] == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def _code(source, role):
    return {"cell_type": "code", "source": source, "outputs": [], "execution_count": None,
            "metadata": {"autograder": {"role": role}}}


def _notebook(assignment, cells):
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"{assignment.id}-{number:03d}"[-64:]
    metadata = {k: v for k, v in assignment.metadata.items()
                if k in ("kernelspec", "language_info")}
    metadata["autograder"] = {"assignment": assignment.id, "title": assignment.title}
    nb = {"cells": cells, "metadata": metadata, "nbformat": 4,
          "nbformat_minor": NBFORMAT_MINOR}
    return nbformat.from_dict(nb)


def verify_bundle(bundle_path, student, workers=2):
    """Grade the reference and the blank notebook; raise if either grades wrongly.

    Raises
    ------
    VerificationError
        Naming each question and test that went wrong.
    """
    bundle = read_bundle(bundle_path)
    with tempfile.TemporaryDirectory(prefix="autograder-verify-") as tmp:
        tmp = Path(tmp)
        (tmp / "reference.ipynb").write_text(write_notebook(
            nbformat.from_dict(bundle.reference)), encoding="utf-8")
        (tmp / "blank.ipynb").write_text(write_notebook(student), encoding="utf-8")
        results = grade(bundle, [tmp / "reference.ipynb", tmp / "blank.ipynb"], tmp / "out",
                        GradeOptions(workers=workers, quiet=True, force=True))
    by_student = {r.student: r for r in results}
    problems = (_reference_problems(by_student["reference"])
                + _blank_problems(by_student["blank"]))
    if problems:
        raise VerificationError("the exercise does not grade as it should:\n"
                                + "\n".join(f"- {p}" for p in problems))


def _reference_problems(result):
    problems = [f"the reference solution: {p.message}" for p in result.problems]
    for q in result.questions:
        for test in q.tests:
            if not test.passed:
                problems.append(f"question {q.id}, test {test.name!r}: the reference solution "
                                f"fails it ({test.detail or test.message}); fix the solution "
                                "or the test")
    return problems


def _blank_problems(result):
    problems = [f"the blank notebook: {p.message}" for p in result.problems
                if p.kind in ("crash", "input", "internal", "not_run")]
    for q in result.questions:
        for test in q.tests:
            if test.score:
                problems.append(f"question {q.id}, test {test.name!r}: passes on the blank "
                                "student notebook; make it fail when the answer is `...`")
    return problems
