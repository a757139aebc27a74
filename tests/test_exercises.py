"""Every exercise in exercises/*/: its student notebook is up to date, and it grades right.

For each ``exercises/NN-slug/source.ipynb``: ``autograder assign`` (which itself checks that
the reference earns full marks and the blank notebook zero) must reproduce the committed
``exercise.ipynb`` byte for byte, and each ``submissions/*.ipynb`` must earn exactly the
per-question scores in ``submissions/expected.json``. New exercises are picked up by the glob.
"""

import json

import pytest

from conftest import ROOT
from autograder.assign import assign
from autograder.authoring.bundle import read_bundle
from autograder.grading.grade import GradeOptions, grade

SOURCES = sorted(ROOT.glob("exercises/*/source.ipynb"))


@pytest.fixture(scope="module", params=SOURCES, ids=lambda p: p.parent.name)
def exercise(request, tmp_path_factory):
    source = request.param
    output = assign(source, tmp_path_factory.mktemp(source.parent.name))
    return source.parent, output


@pytest.mark.slow
def test_the_sample_exercise_exists():
    assert ROOT / "exercises" / "00-how-to-use" / "source.ipynb" in SOURCES


@pytest.mark.slow
def test_committed_student_notebook_is_current(exercise):
    folder, output = exercise
    committed = folder / "exercise.ipynb"
    assert committed.is_file(), f"{committed} is missing: run `make exercises`"
    assert committed.read_text(encoding="utf-8") == output.notebook.read_text(
        encoding="utf-8"), f"{committed} is stale: run `make exercises`"


@pytest.mark.slow
def test_sample_submissions_earn_expected_scores(exercise, tmp_path):
    folder, output = exercise
    expected = json.loads((folder / "submissions" / "expected.json").read_text())
    paths = sorted((folder / "submissions").glob("*.ipynb"))
    assert {p.stem for p in paths} == set(expected), "expected.json and submissions differ"
    results = grade(read_bundle(output.bundle), paths, tmp_path / "out",
                    GradeOptions(workers=2, quiet=True))
    scores = {r.student: {**r.question_scores(), "total": r.score} for r in results}
    assert scores == expected, {r.student: [p.message for p in r.problems] for r in results}
    assert all(r.status == "graded" for r in results)
