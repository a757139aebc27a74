"""Hostile submissions: each must earn exactly what its honest content deserves.

The mini exercise's secret answer is drawn at random for each run and exists only in a
temporary source notebook and bundle (mode 0600, under pytest's private temporary folder), so a
submission that finds it has broken the sandbox.
"""

import json
import os
import secrets
from pathlib import Path

import pytest

from autograder.assign import assign
from autograder.authoring.bundle import read_bundle
from autograder.grading.grade import GradeOptions, grade

FILES = Path(__file__).parent / "files"

# What each fixture's honest content deserves (secret_answer is never the secret).
EXPECTED = {
    "replace_checker": {"q1": 1, "q2": 2, "q3": 0},
    "input_transformers": {"q1": 1, "q2": 2, "q3": 1},
    "fake_output": {"q1": 0, "q2": 0, "q3": 1},
    "always_equal": {"q1": 1, "q2": 0, "q3": 0},
    "read_secrets": {"q1": 1, "q2": 2, "q3": 1},
    "forge_files": {"q1": 1, "q2": 2, "q3": 1},
    "early_exit": {"q1": 1, "q2": 2, "q3": 1},
    "patch_modules": {"q1": 1, "q2": 2, "q3": 1},
    "forge_replies": {"q1": 1, "q2": 0, "q3": 0},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    secret = 1_000_000 + secrets.randbelow(9_000_000)
    source = tmp / "mini_source.ipynb"
    source.write_text((FILES / "mini_source.ipynb").read_text().replace("SECRET", str(secret)))
    output = assign(source, tmp / "assign", verify=False)
    paths = sorted((FILES / "hostile").glob("*.ipynb"))
    out = tmp / "out"
    results = grade(read_bundle(output.bundle), paths, out, GradeOptions(workers=2, quiet=True))
    yield {r.student: r for r in results}, out, secret
    for leftover in Path("/tmp").glob("forge_files-FORGED.json"):
        leftover.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_hostile_submission_earns_its_honest_score(graded, student):
    results, _, _ = graded
    result = results[student]
    assert result.status == "graded", result.problems
    assert result.question_scores() == EXPECTED[student]
    assert result.score == sum(EXPECTED[student].values())


@pytest.mark.slow
def test_every_fixture_has_an_expectation():
    assert {p.stem for p in (FILES / "hostile").glob("*.ipynb")} == set(EXPECTED)


@pytest.mark.slow
def test_forged_files_never_reach_the_output(graded):
    results, out, _ = graded
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    expected = ["gradebook.csv", "summary.html"] + [
        f"{s}{suffix}" for s in sorted(results)
        for suffix in ("", "/executed.ipynb", "/feedback.html", "/result.json", "/results.json")]
    assert names == sorted(expected)
    stored = json.loads((out / "forge_files" / "result.json").read_text())
    assert stored["score"] == 4


@pytest.mark.slow
def test_secret_never_appears_in_student_visible_output(graded):
    results, out, secret = graded
    for student in results:
        for name in ("feedback.html", "results.json"):
            assert str(secret) not in (out / student / name).read_text()


@pytest.mark.slow
def test_sandbox_isolation_is_recorded(graded):
    results, _, _ = graded
    sandbox = results["read_secrets"].sandbox
    if os.geteuid() == 0:
        assert sandbox["user"].startswith("uid ")
    assert sandbox["network"] in ("namespace", "user+namespace", "none (private namespace)")


@pytest.mark.slow
def test_crashing_cells_are_reported_with_restarts(graded):
    results, _, _ = graded
    result = results["early_exit"]
    kinds = [(p.kind, p.cell) for p in result.problems if p.kind in ("crash", "exception")]
    assert kinds == [("exception", 2), ("crash", 4), ("crash", 6), ("crash", 7)]
    assert len(result.notes) == 3
