"""The self-check: public tests only, hints, reflections and their discussion."""

import base64
import json

import nbformat
import pytest

from conftest import SAMPLE_EXERCISE as SAMPLE
from autograder import Checker
from autograder.assign import student_notebook
from autograder.authoring.source import parse_source


@pytest.fixture(scope="module")
def data():
    nb = nbformat.read(SAMPLE / "exercise.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("autograder", {}).get("role") == "checker")
    return cell.source.split('"""')[1]


def test_embedded_data_holds_no_hidden_test(data):
    payload = json.loads(base64.b64decode("".join(data.split())))
    sources = [t["source"] for q in payload["questions"] for t in q["tests"]]
    assert sources and not any("hidden: true" in s for s in sources)
    assert "0.75" not in json.dumps(payload)


def test_pass_fail_and_hint(data):
    check = Checker(data, namespace={"accuracy": 75})
    report = check.run("q1")
    assert [o.passed for o in report.outcomes] == [False]
    assert "not a percentage" in report.to_text()
    assert "hidden tests worth 0.5 points" in report.headline()
    assert Checker(data, namespace={"accuracy": 0.75}).run("q1").score == 0.5


def test_undefined_answer_tells_what_to_do(data):
    text = Checker(data, namespace={"choice": ...}).run("q4").to_text()
    assert "replace the `...`" in text


def test_reflection_shows_discussion_after_enough_words(data):
    short = Checker(data, namespace={"reflection_q5": "too short"}).run("q5")
    assert not short.discussion and "2 words so far" in short.to_text()
    long = Checker(data, namespace={"reflection_q5": "word " * 20}).run("q5")
    assert long.score == 1 and "generalises" in long.discussion


def test_plain_text_outside_jupyter(data, capsys):
    Checker(data, namespace={"percent": lambda part, whole: 100 * part / whole})("q2")
    assert "q2: 1 of 1 public tests passed" in capsys.readouterr().out


def test_html_never_shows_test_source(data):
    html = Checker(data, namespace={}).run("q4").to_html()
    assert "matches_hash" not in html and "<table>" in html


def test_damaged_data_says_to_download_again():
    with pytest.raises(Exception, match="download a fresh copy"):
        Checker("not base64 !!")


def test_student_notebook_is_deterministic():
    source = parse_source(nbformat.read(SAMPLE / "source.ipynb", as_version=4))
    assert student_notebook(source) == student_notebook(source)
