"""Course-workflow figures for a large class: `similar` and the review page.

Run: ``.venv/bin/python benchmarks/course_benchmark.py [--n 1000]``

``similar``
    N generated submissions of the sample exercise (tests/course_fixtures.py: 64 distinct
    ``percent`` functions and 140 distinct reflections, so many honest answers repeat, as in
    a real class). Measured in one run:
    the floor, reading the N notebooks (which any similarity check must do); the grader's
    ``similar_pairs`` (fingerprint index, then copydetect's comparison of candidate pairs);
    and the peer design, copydetect's comparison of every pair of one question's answers.
``review``
    A review page for N reflections: its size, and the time headless Chromium takes to load
    it from ``file://`` until the first answers are on screen, against the same browser
    loading a plain page of the same size (the floor).
"""

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from autograder.assign import assign  # noqa: E402
from autograder.course import similar  # noqa: E402
from autograder.course.review import review_page  # noqa: E402
from autograder.grading.submission import load_submission  # noqa: E402
from autograder.reporting.results import QuestionResult, Result  # noqa: E402
from course_fixtures import honest_percent, honest_reflection, notebook  # noqa: E402

SOURCE = ROOT / "exercises" / "00-how-to-use" / "source.ipynb"
CHROMIUM = "/usr/bin/chromium"


def similar_figures(bundle, folder, n):
    paths = []
    for i in range(n):
        path = folder / f"s{i:04d}.ipynb"
        path.write_text(notebook(honest_percent(i % 64), honest_reflection(i)))
        paths.append(path)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            load_submission(path, Path(tmp))
    floor = time.perf_counter() - start

    start = time.perf_counter()
    pairs, counts = similar.similar_pairs(bundle, paths, threshold=0.8)
    ours = time.perf_counter() - start

    answers = similar._answers(paths, None)
    starter = similar._starter(bundle).get("q2", "")
    prints = {s: similar._fingerprint(a["q2"], False, starter) for s, a in answers.items()}
    start = time.perf_counter()
    every = 0
    for a, b in itertools.combinations(sorted(prints), 2):
        similar.compare_files(prints[a], prints[b])
        every += 1
    peer = time.perf_counter() - start
    questions = len(bundle.assignment.questions)
    print(f"similar, {n} submissions, {questions} questions:")
    print(f"  reading the notebooks (floor)     {floor:7.2f} s")
    print(f"  autograder similar (all questions) {ours:6.2f} s  = {ours / floor:.1f} x the "
          f"floor; {counts['compared']:,} candidate pairs compared, {len(pairs)} at >= 0.8")
    print(f"  every pair of q2 alone (peer)     {peer:7.2f} s  for {every:,} pairs "
          f"({every / peer:,.0f} pairs/s)")
    print(f"  one question by the index vs every pair: {peer / (ours / questions):.1f} x faster")


def review_figures(bundle, n):
    q5 = bundle.assignment.question("q5")
    results = []
    for i in range(n):
        questions = [QuestionResult(q.id, q.kind, q.points, q.points,
                                    answer_text=honest_reflection(i)
                                    if q.kind == "reflection" else None)
                     for q in bundle.assignment.questions]
        results.append(Result(f"student{i:04d}", bundle.assignment.id, "graded",
                              questions=questions, max=bundle.assignment.points))
    start = time.perf_counter()
    page, count = review_page(bundle, q5, results)
    build = time.perf_counter() - start
    size = len(page.encode())
    print(f"review page, {count} answers: {size / 1024:.0f} KB, written in {build:.2f} s")
    if not Path(CHROMIUM).exists():
        print("  (no Chromium at /usr/bin/chromium: load time not measured)")
        return
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp:
        review = Path(tmp) / "review.html"
        review.write_text(page)
        plain = Path(tmp) / "plain.html"
        plain.write_text("<!DOCTYPE html><html lang=en><title>plain</title><body><pre>"
                         + "x" * size + "</pre></body></html>")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            timings = {}
            for name, path, ready in (("plain", plain, "pre"),
                                      ("review", review, "body[data-ready=yes]")):
                best = None
                for _ in range(3):
                    tab = browser.new_page()
                    start = time.perf_counter()
                    tab.goto(path.as_uri())
                    tab.wait_for_selector(ready)
                    took = time.perf_counter() - start
                    best = took if best is None else min(best, took)
                    tab.close()
                timings[name] = best
            browser.close()
    print(f"  load in headless Chromium (best of 3): {timings['review'] * 1000:.0f} ms; a "
          f"plain page of the same size (floor): {timings['plain'] * 1000:.0f} ms; ratio "
          f"{timings['review'] / timings['plain']:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="submissions / answers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundle_path = assign(SOURCE, tmp / "dist", verify=False).bundle
        from autograder.authoring.bundle import read_bundle
        bundle = read_bundle(bundle_path)
        (tmp / "subs").mkdir()
        similar_figures(bundle, tmp / "subs", args.n)
        review_figures(bundle, args.n)


if __name__ == "__main__":
    main()
