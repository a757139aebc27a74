"""The manual-review page in Chromium from file://: scores typed by keyboard, kept across a
reload, exported as the CSV that `autograder review --merge` reads; hostile answers inert."""

import csv
import io
import pathlib

import pytest

from autograder.assign import assign
from autograder.authoring.bundle import read_bundle
from autograder.course.review import merge, review_pages
from autograder.reporting.results import QuestionResult, Result, ResultStore

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "exercises" / "00-how-to-use" / "source.ipynb"
CHROMIUM = "/usr/bin/chromium"
HOSTILE = '</script><img src=x onerror="document.title=\'pwned\'">'


@pytest.fixture
def page_and_results(tmp_path):
    bundle = read_bundle(assign(SOURCE, tmp_path / "dist", verify=False).bundle)
    store = ResultStore(tmp_path / "out")
    for i in range(150):  # more than one batch of rendered answers
        text = HOSTILE if i == 0 else f"Answer number {i}: held-out data shows generalisation."
        questions = [QuestionResult(q.id, q.kind, q.points, q.points,
                                    answer_text=text if q.kind == "reflection" else None)
                     for q in bundle.assignment.questions]
        result = Result(f"s{i:03d}", bundle.assignment.id, "graded", questions=questions,
                        max=bundle.assignment.points).rescore()
        store.folder(result.student)
        (store.root / result.student / "result.json").write_text(result.to_json())
    [(path, count)] = list(review_pages(bundle, store.root))
    return bundle, store.root, path


def test_scores_typed_survive_a_reload_and_export_as_csv(page_and_results, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does).")
    bundle, out, path = page_and_results
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox"])
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready=yes]")
        assert page.title() != "pwned" and page.locator("img").count() == 0
        assert page.locator("fieldset").count() == 100
        page.get_by_role("button", name="Show more answers").click()
        assert page.locator("fieldset").count() == 150
        points = page.get_by_label("Points for s001 (0 to 1)")
        points.focus()
        page.keyboard.type("0.5")
        page.get_by_label("Comment to s001").fill('Good, but "why"?')
        assert "1 of 150 answers scored" in page.get_by_role("status").inner_text()
        page.reload()
        page.wait_for_selector("body[data-ready=yes]")
        assert page.get_by_label("Points for s001 (0 to 1)").input_value() == "0.5"
        with page.expect_download() as download:
            page.get_by_role("button", name="Download scores (CSV)").click()
        saved = tmp_path / "scores.csv"
        download.value.save_as(saved)
        browser.close()
    assert errors == []
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert rows == [{"student": "s001", "question": "q5", "points": "0.5",
                     "comment": 'Good, but "why"?'}]
    merge(bundle, out, saved)
    assert ResultStore(out).load("s001").score == bundle.assignment.points - 0.5
