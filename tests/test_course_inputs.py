"""Bad input to the course workflow gets a clear error naming the file, the line and the fix;
and the late-work arithmetic (grace, cap, cutoff, time zones)."""

import json
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from autograder.assign import assign
from autograder.authoring.bundle import read_bundle
from autograder.course.lms import read_archive
from autograder.course.review import merge, review_page
from autograder.course.roster import read_roster
from autograder.exceptions import UsageError
from autograder.grading.late import parse_policy, parse_time, policy_from, read_times
from autograder.reporting.results import QuestionResult, Result, ResultStore

from course_fixtures import canvas, make_class, moodle

SOURCE = Path(__file__).resolve().parents[1] / "exercises" / "00-how-to-use" / "source.ipynb"


def when(text):
    return datetime.fromisoformat(text)


def test_days_late_count_started_days_after_grace():
    policy = parse_policy("2026-12-01T23:59+01:00", "15m", "10%", "30%", "7d")
    assert policy.assess(when("2026-12-02T00:14+01:00"), 8, 8) is None  # within grace
    assert policy.assess(when("2026-12-02T00:15+01:00"), 8, 8)["days_late"] == 1
    assert policy.assess(when("2026-12-03T10:00+01:00"), 8, 8)["penalty"] == pytest.approx(1.6)
    assert policy.assess(when("2026-12-07T10:00+01:00"), 8, 8)["penalty"] == pytest.approx(2.4)
    assert policy.assess(when("2026-12-09T10:00+01:00"), 8, 8)["penalty"] == 8  # cut off


def test_time_zones_compare_instants_not_clock_readings():
    policy = parse_policy("2026-03-29T12:00+02:00", penalty="1pts")  # after the DST change
    assert policy.assess(when("2026-03-29T09:59+00:00"), 10, 10) is None  # 11:59 at +02
    late = policy.assess(when("2026-03-29T10:01+00:00"), 10, 10)
    assert late is not None and late["penalty"] == 1
    naive = parse_time("Sunday, 29 March 2026, 11:00 AM", None)  # Moodle's worksheet
    assert policy.assess(naive, 10, 10) is None  # read in the deadline's zone


@pytest.mark.parametrize("args, words", [
    (("2026-12-01T23:59",), "has no time zone"),
    (("tomorrow",), "is not a date"),
    (("2026-12-01T23:59Z", "soon"), "--grace 'soon' is not a duration"),
    (("2026-12-01T23:59Z", None, "ten"), "--late-penalty 'ten' is not an amount"),
    (("2026-12-01T23:59Z", None, "10%", "3pts"), "different units"),
])
def test_bad_policy_values_say_the_fix(args, words):
    with pytest.raises(UsageError, match=words):
        parse_policy(*args)


def test_a_policy_without_deadline_is_refused():
    with pytest.raises(UsageError, match="needs a deadline"):
        policy_from({}, "bundle.json", penalty="10%")
    assert policy_from({}, "bundle.json") is None
    assert policy_from({"deadline": "2026-12-01T23:59Z", "late_penalty": "5%"}, "b").per_day == 5


def test_times_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "times.csv"
    bad.write_text("student,submitted_at\nada,2026-12-01T10:00Z\nben,yesterday\n")
    with pytest.raises(UsageError, match=r"times.csv, line 3:.*not a date"):
        read_times(bad)
    bad.write_text("name,time\nada,2026-12-01T10:00Z\n")
    with pytest.raises(UsageError, match="needs the columns student and submitted_at"):
        read_times(bad)


def test_roster_without_the_needed_columns(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("Name,Mail\nAda,ada@example.edu\n")
    with pytest.raises(UsageError, match="roster.csv: the header Name, Mail is not a roster"):
        read_roster(roster)
    roster.write_text("student_id,name\nada,Ada\nada,Ada again\n")
    with pytest.raises(UsageError, match="lines 2 and 3: both give student id 'ada'"):
        read_roster(roster)


def test_rosters_of_each_lms_are_recognised(tmp_path):
    work = make_class(4)
    _, canvas_roster, canvas_ids = canvas(tmp_path, work)
    roster = read_roster(canvas_roster)
    assert roster.kind == "canvas" and len(roster.students) == 4  # Points Possible skipped
    assert {s.id for s in roster.students} == set(canvas_ids.values())
    times = {name: "Monday, 30 November 2026, 9:15 PM" for name, _ in work}
    _, moodle_roster, moodle_ids = moodle(tmp_path, work, times)
    roster = read_roster(moodle_roster)
    assert roster.kind == "moodle" and roster.students[0].lms_id == "310000"


def test_archive_with_an_unexpected_layout(tmp_path):
    work = make_class(3)
    _, roster, _ = canvas(tmp_path, work)
    archive = tmp_path / "homework.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("my notebook.ipynb", "{}")
    with pytest.raises(UsageError, match="no entry is named the way the LMS names"):
        read_archive(archive, read_roster(roster), tmp_path / "stage")


def test_archive_leaving_its_folder_is_refused(tmp_path):
    work = make_class(3)
    _, roster, _ = canvas(tmp_path, work)
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../doeada_4800_1_x.ipynb", "{}")
    with pytest.raises(UsageError, match="leaves the archive"):
        read_archive(archive, read_roster(roster), tmp_path / "stage")


def test_moodle_archive_flat_and_in_folders(tmp_path):
    work = make_class(3)
    times = {name: "Monday, 30 November 2026, 9:15 PM" for name, _ in work}
    for folders in (True, False):
        archive, roster, ids = moodle(tmp_path, work, times, folders=folders)
        stage = tmp_path / f"stage{folders}"
        stage.mkdir()
        intake = read_archive(archive, read_roster(roster), stage)
        assert intake.kind == "moodle" and set(intake.submissions) == set(ids.values())
        assert intake.submitted_at[ids[work[0][0]]] == "2026-11-30T21:15:00"
        assert len(intake.unmatched) == 1


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A bundle and an output folder with two hand-made results (no kernels)."""
    folder = tmp_path_factory.mktemp("review")
    bundle = read_bundle(assign(SOURCE, folder / "dist", verify=False).bundle)
    store = ResultStore(folder / "out")
    for student, text in (("ada", "</script><script>alert(1)</script>"), ("ben", "Fine.")):
        questions = [QuestionResult(q.id, q.kind, q.points, q.points,
                                    answer_text=text if q.kind == "reflection" else None)
                     for q in bundle.assignment.questions]
        result = Result(student, bundle.assignment.id, "graded", questions=questions,
                        max=bundle.assignment.points)
        store.folder(student)
        (store.root / student / "result.json").write_text(result.rescore().to_json())
    return bundle, folder / "out"


def test_review_page_keeps_student_text_inert(graded):
    bundle, out = graded
    q5 = bundle.assignment.question("q5")
    page, count = review_page(bundle, q5, ResultStore(out).all_results(bundle.assignment.id))
    assert count == 2
    assert "</script><script>alert" not in page and "\\u003c/script>" in page


@pytest.mark.parametrize("text, words", [
    ("name,points\nada,1\n", "line 1: the header needs the columns"),
    ("student,question,points,comment\nzed,q5,1,\n", "line 2: no result for student 'zed'"),
    ("student,question,points,comment\nada,q9,1,\n", "line 2: unknown question 'q9'"),
    ("student,question,points,comment\nada,q5,one,\n", "line 2: points 'one' is not a number"),
    ("student,question,points,comment\nada,q5,0.5,\nben,q5,3,\n",
     "line 3: points 3 is outside 0 to 1"),
])
def test_bad_scores_file_changes_nothing(graded, tmp_path, text, words):
    bundle, out = graded
    scores = tmp_path / "scores.csv"
    scores.write_text(text)
    with pytest.raises(UsageError, match=words):
        merge(bundle, out, scores)
    assert not (out / "ada" / "manual.json").exists()


def test_merge_stores_scores_and_rewrites_results(graded, tmp_path):
    bundle, out = graded
    scores = tmp_path / "scores.csv"
    scores.write_text('student,question,points,comment\nben,q5,0.5,"Too short, say more"\n'
                      "ada,q5,,\n")
    assert merge(bundle, out, scores) == {"ben": {"q5": {"points": 0.5,
                                                          "comment": "Too short, say more"}}}
    stored = json.loads((out / "ben" / "result.json").read_text())
    assert stored["score"] == bundle.assignment.points - 0.5
    assert "Too short, say more" in (out / "ben" / "feedback.html").read_text()
    assert "ben,1,2,3,1,0.5," in (out / "gradebook.csv").read_text()
