"""Grading with real kernels: bad input, limits, outputs, re-runs and the command line."""

import csv
import io
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from autograder.assign import assign
from autograder.authoring.bundle import read_bundle
from autograder.grading.grade import GradeOptions, grade

FILES = Path(__file__).parent / "files"
SECRET = 4242424
BAD = sorted((FILES / "bad").iterdir())
INPUTS = BAD + [FILES / "folder_submission", FILES / "zipped.zip"]


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mini")
    source = tmp / "mini_source.ipynb"
    source.write_text((FILES / "mini_source.ipynb").read_text().replace("SECRET", str(SECRET)))
    return assign(source, tmp / "assign", verify=False).bundle


@pytest.fixture(scope="module")
def batch(bundle_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    results = grade(read_bundle(bundle_path), INPUTS, out, GradeOptions(workers=2, quiet=True))
    return {r.student: r for r in results}, out


def problems(result, kind=None):
    return [p for p in result.problems if kind is None or p.kind == kind]


@pytest.mark.slow
@pytest.mark.parametrize("student, words", [
    ("invalid_json", "not valid JSON (line 2"),
    ("not_a_notebook", "not a notebook"),
    ("json_not_notebook", "not a Jupyter notebook"),
    ("very_old_v2", "nbformat 2, too old"),
])
def test_unreadable_submissions_fail_with_a_clear_entry(batch, student, words):
    result = batch[0][student]
    assert result.status == "failed"
    assert result.score == 0
    assert words in problems(result, "input")[0].message


@pytest.mark.slow
def test_nbformat_3_is_upgraded_and_noted(batch):
    result = batch[0]["old_v3"]
    assert result.status == "graded"
    assert result.question_scores() == {"q1": 1.0, "q2": 2.0, "q3": 0.0}
    assert any("nbformat 3" in note for note in result.notes)


@pytest.mark.slow
def test_every_trouble_is_reported_and_later_cells_still_count(batch):
    result = batch[0]["troubles"]
    assert result.status == "graded"
    assert result.question_scores() == {"q1": 1.0, "q2": 2.0, "q3": 1.0}
    found = {(p.kind, p.cell) for p in result.problems}
    assert ("exception", 2) in found
    assert ("exception", 3) in found and "MemoryError" in problems(result, "exception")[1].message
    assert ("output", 4) in found
    assert ("timeout", 6) in found
    missing = problems(result, "missing_question")
    assert [p.question for p in missing] == ["q2"]


@pytest.mark.slow
@pytest.mark.parametrize("student", ["folder_submission", "zipped"])
def test_folders_and_zips_bring_their_data_files(batch, student):
    result = batch[0][student]
    assert result.status == "graded", result.problems
    assert result.question_scores() == {"q1": 1.0, "q2": 2.0, "q3": 1.0}


@pytest.mark.slow
def test_outputs_gradebook_and_summary(batch):
    results, out = batch
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text())))
    assert [r["student"] for r in rows] == sorted(results)
    assert set(rows[0]) == {"student", "q1", "q2", "q3", "total", "status", "raw_total",
                            "late_penalty", "days_late", "submitted_at"}
    summary = (out / "summary.html").read_text()
    assert '<img src="data:image/png;base64,' in summary and 'alt="Histograms' in summary
    assert "http" not in summary.replace('"http://www.w3.org', "")


@pytest.mark.slow
def test_gradescope_and_feedback_for_students(batch):
    _, out = batch
    gradescope = json.loads((out / "troubles" / "results.json").read_text())
    assert gradescope["score"] == 4.0
    assert {t["visibility"] for t in gradescope["tests"]} == {"visible", "after_published"}
    assert all({"name", "score", "max_score", "output"} <= set(t) for t in gradescope["tests"])
    page = (out / "troubles" / "feedback.html").read_text()
    levels = [int(h) for h in re.findall(r"<h([1-6])", page)]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:]))
    assert page.count("<table") == 3 and "src=" not in page and str(SECRET) not in page


@pytest.mark.slow
def test_rerun_skips_finished_and_force_regrades(bundle_path, tmp_path):
    bundle = read_bundle(bundle_path)
    paths = [FILES / "folder_submission"]
    stored = tmp_path / "folder_submission" / "result.json"
    first = grade(bundle, paths, tmp_path, GradeOptions(quiet=True))
    written = stored.stat().st_mtime_ns
    second = grade(bundle, paths, tmp_path, GradeOptions(quiet=True))
    assert stored.stat().st_mtime_ns == written  # read back, not regraded
    assert second[0].to_json() == first[0].to_json()
    third = grade(bundle, paths, tmp_path, GradeOptions(quiet=True, force=True))
    assert stored.stat().st_mtime_ns != written
    assert third[0].question_scores() == first[0].question_scores()


@pytest.mark.slow
def test_uncollected_batch_counts_statuses_and_writes_the_same_files(bundle_path, batch,
                                                                     tmp_path):
    """collect=False (the command line's way, constant memory) keeps no results but writes
    the same gradebook and summary, built by reading results back one at a time."""
    results, out = batch
    statuses = grade(read_bundle(bundle_path), INPUTS, tmp_path,
                     GradeOptions(workers=2, quiet=True), collect=False)
    assert statuses == Counter(r.status for r in results.values())
    assert (tmp_path / "gradebook.csv").read_text() == (out / "gradebook.csv").read_text()
    table = re.compile(r"<table>.*</table>", re.S)
    ours, theirs = ((folder / "summary.html").read_text() for folder in (tmp_path, out))
    assert table.search(ours).group() == table.search(theirs).group()
    assert f"{len(results)} submissions: {statuses['graded']} graded" in ours


def cli(*args):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_exit_status(bundle_path, tmp_path):
    missing = cli("grade", tmp_path / "nope.json", FILES / "zipped.zip", "--out", tmp_path / "o")
    assert missing.returncode == 2 and "autograder assign" in missing.stderr
    ok = cli("grade", bundle_path, FILES / "zipped.zip", "--out", tmp_path / "o", "--quiet")
    assert ok.returncode == 0, ok.stderr
    assert f"1 submission (1 graded); gradebook.csv and summary.html are in {tmp_path / 'o'}" \
        in ok.stderr
    bad = cli("grade", bundle_path, FILES / "bad" / "invalid_json.ipynb", "--out",
              tmp_path / "o", "--quiet")
    assert bad.returncode == 1 and "1 submission (1 failed)" in bad.stderr
    assert (tmp_path / "o" / "zipped" / "result.json").is_file()


@pytest.mark.slow
def test_cli_assign_stops_when_the_reference_fails(tmp_path):
    text = (FILES / "mini_source.ipynb").read_text()
    broken = text.replace("SECRET  # SOLUTION", "1  # SOLUTION").replace("SECRET", "2")
    source = tmp_path / "broken.ipynb"
    source.write_text(broken)
    run = cli("assign", source, "--out", tmp_path / "a")
    assert run.returncode == 1
    assert "question q1, test 'the secret': the reference solution fails it" in run.stderr


def test_cli_hash_matches():
    from autograder import matches_hash
    run = cli("hash", "Paris")
    assert run.returncode == 0 and matches_hash("paris ", run.stdout.strip())
