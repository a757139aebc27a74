"""The course workflow end to end: LMS archive in, grading with late work, manual review,
similarity, export to the LMS, feedback zips, and regrading one student.

Each cycle grades a generated class of 32: 31 submissions (one copies another with renamed
variables and new comments, three are late), one student who submitted nothing, and one stray
file in the archive that matches nobody on the roster.
"""

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.assign import assign
from autograder.cli import cli

from course_fixtures import canvas, make_class, moodle

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "exercises" / "00-how-to-use" / "source.ipynb"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return str(assign(SOURCE, out, verify=False).bundle)


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def rows(path):
    return list(csv.DictReader(io.StringIO(Path(path).read_text())))


def cycle(tmp_path, bundle, kind):
    """Grade, review, merge, find the copy, export, zip feedback, regrade; return facts."""
    work = make_class(32)
    names = [name for name, _ in work]
    late, absent = names[5:8], [names[10]]
    if kind == "canvas":
        archive, roster, ids = canvas(tmp_path, work, late=late, absent=absent)
        times = tmp_path / "times.csv"
        times.write_text("student,submitted_at\n" + "".join(
            f"{ids[n]},2026-12-03T10:00+01:00\n" for n in late))
        extra = ["--times", times]
    else:
        when = {n: ("Thursday, 3 December 2026, 10:00 AM" if n in late
                    else "Monday, 30 November 2026, 9:15 PM") for n in names}
        archive, roster, ids = moodle(tmp_path, work, when, absent=absent)
        extra = []
    out = tmp_path / "out"
    status, text = run("grade", bundle, archive, "--roster", roster, "--out", out,
                       "--deadline", "2026-12-01T23:59+01:00", "--grace", "15m",
                       "--late-penalty", "10%", "--late-cap", "30%", "--quiet", *extra)
    return work, ids, late, absent, roster, archive, out, status, text


@pytest.mark.parametrize("kind", ["canvas", "moodle"])
def test_full_cycle(tmp_path, bundle, kind):
    work, ids, late, absent, roster, archive, out, status, text = cycle(tmp_path, bundle,
                                                                        kind)
    names = [n for n, _ in work]
    # Intake: the stray file and the student without a submission are listed, not dropped.
    intake = json.loads((out / "intake.json").read_text())
    assert len(intake["unmatched"]) == 1 and "99999" in intake["unmatched"][0]
    assert intake["missing"] == [ids[absent[0]]]
    assert "match no roster student" in text and "have no submission" in text
    assert status == 0, text
    book = {r["student"]: r for r in rows(out / "gradebook.csv")}
    assert len(book) == 31
    # Late work: two started days late at 10% of the 8 points each; raw and penalty kept.
    for name in late:
        row = book[ids[name]]
        assert (row["days_late"], row["late_penalty"], row["raw_total"], row["total"]) == \
            ("2", "1.6", "8", "6.4"), row
        page = (out / ids[name] / "feedback.html").read_text()
        assert "Late penalty: 1.6 points" in page and "score before the penalty: 8" in page
    on_time = ids[names[0]]
    assert book[on_time]["total"] == "8" and book[on_time]["late_penalty"] == "0"

    # Manual review of the reflection: a page, scores typed, merged back.
    status, text = run("review", bundle, out)
    assert status == 0, text
    page = (out / "review" / "review-q5.html").read_text()
    assert page.count('"s": "') == 31 and "<script>alert" not in page
    scores = tmp_path / "scores.csv"
    scores.write_text("student,question,points,comment\n"
                      f"{on_time},q5,0.5,\"Thin, but on topic\"\n"
                      f"{ids[late[0]]},q5,0,Say why held-out data matters\n")
    status, text = run("review", bundle, out, "--merge", scores)
    assert status == 0, text
    book = {r["student"]: r for r in rows(out / "gradebook.csv")}
    assert book[on_time]["q5"] == "0.5" and book[on_time]["total"] == "7.5"
    assert book[ids[late[0]]]["raw_total"] == "7" and book[ids[late[0]]]["total"] == "5.4"
    assert "Thin, but on topic" in (out / on_time / "feedback.html").read_text()

    # Similarity: the copied pair is flagged on q2 and q5, no honest pair is.
    report = tmp_path / "similar.html"
    status, text = run("similar", bundle, archive, "--roster", roster, "--out", report)
    assert status == 0, text
    copier, original = ids[names[-1]], ids[names[3]]
    flagged = _flagged(report)
    assert flagged == {("q2", *sorted((copier, original))), ("q5", *sorted((copier, original)))}

    # Export in each format.
    for fmt in ("csv", kind):
        target = tmp_path / f"grades-{fmt}.csv"
        status, text = run("export", out, "--format", fmt, "--roster", roster, "--out", target,
                           "--scale", 100)
        assert status == 0, text
        _check_export(fmt, target, ids, on_time, absent)

    # Feedback zips, then a targeted regrade that keeps manual scores and other files.
    status, text = run("feedback", out, "--out", tmp_path / "zips")
    assert status == 0, text
    with zipfile.ZipFile(tmp_path / "zips" / f"{on_time}.zip") as z:
        assert set(z.namelist()) == {"feedback.html", f"{on_time}.ipynb"}
        executed = json.loads(z.read(f"{on_time}.ipynb"))
    assert any(c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code")
    other = ids[names[1]]
    before = (out / other / "result.json").read_bytes()
    status, text = run("grade", bundle, archive, "--roster", roster, "--out", out, "--quiet",
                       "--only", on_time, "--deadline", "2026-12-01T23:59+01:00",
                       *(["--times", tmp_path / "times.csv"] if kind == "canvas" else []))
    assert status == 0, text
    assert (out / other / "result.json").read_bytes() == before
    again = json.loads((out / on_time / "result.json").read_text())
    q5 = next(q for q in again["questions"] if q["id"] == "q5")
    assert q5["manual"]["points"] == 0.5 and again["score"] == 7.5


def _flagged(report):
    text = report.read_text()
    found = set()
    for line in text.split("<tr>")[2:]:
        cells = [c.split("</td>")[0] for c in line.split("<td>")[1:]]
        question = cells[0].split(">")[1].split("<")[0]
        found.add((question, *sorted(cells[1:3])))
    return found


def _check_export(fmt, target, ids, on_time, absent):
    if fmt == "csv":
        data = {r["student"]: r for r in rows(target)}
        assert data[on_time]["total"] == "93.75" and data[on_time]["max"] == "100"
        assert data[ids[absent[0]]]["status"] == "missing"
    elif fmt == "canvas":
        lines = rows(target)
        assert lines[0]["Student"] == "Points Possible"
        header = target.read_text().splitlines()[0]
        assert header.endswith("ex00-how-to-use (4567)")
        by_login = {r["SIS Login ID"]: r for r in lines[1:]}
        assert by_login[on_time]["ex00-how-to-use (4567)"] == "93.75"
        assert by_login[ids[absent[0]]]["ex00-how-to-use (4567)"] == ""
    else:
        data = {r["Email address"]: r for r in rows(target)}
        assert data[on_time]["Grade"] == "93.75" and data[on_time]["Maximum Grade"] == "100"
        assert data[on_time]["Identifier"].startswith("Participant ")
        assert "Score 7.5 of 8" in data[on_time]["Feedback comments"]
