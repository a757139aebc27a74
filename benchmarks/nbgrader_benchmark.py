"""The autograder against nbgrader on the same batch of a scikit-learn assignment.

    python benchmarks/nbgrader_benchmark.py [--n 30] [--workers 2] [--nbgrader PATH]

One five-question scikit-learn assignment (digits, a train/test split, a logistic regression,
a function, a baseline) is written in both authoring formats from the same solutions and
tests. N submissions (correct, partial and blank in turn, the same code in both formats) are
graded by ``nbgrader autograde`` (one notebook after another, as nbgrader does) and by
``autograder grade --workers W`` twice, kernels forked from the pre-imported template (the
default) and started by exec (``--no-template``), one after the other in this run, and the
ratios of their throughputs are printed. Then one more pass of each with one worker,
instrumented, shows where the time goes per submission: starting the kernel, the set-up
cell's imports, the other cells, the tests' queries, and writing results.

nbgrader is not a dependency of this project: give the ``nbgrader`` executable of an
environment that has it (``python -m venv /tmp/nbg && /tmp/nbg/bin/pip install nbgrader==0.9.6
scikit-learn pandas``) with ``--nbgrader /tmp/nbg/bin/nbgrader``.
"""

import argparse
import collections
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assign import assign  # noqa: E402
from autograder.authoring.bundle import read_bundle  # noqa: E402
from autograder.grading import grade as grading  # noqa: E402
from autograder.sandbox import run as running  # noqa: E402
from autograder.sandbox.launch import KernelProcess, Limits  # noqa: E402

SETUP = """import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = load_digits(return_X_y=True)"""

# (id, points, solution, [(points, test)]): a test is written once, as a function of how
# each format reads a student's variable, v(name), and calls a student's function, c(name, args).
QUESTIONS = [
    ("q1", 1, "n_images = X.shape[0]",
     [(1, lambda v, c: f"assert {v('n_images')} == 1797")]),
    ("q2", 1, "X_train, X_test, y_train, y_test = train_test_split(\n"
              "    X, y, test_size=0.25, random_state=0)",
     [(1, lambda v, c: f"assert len({v('X_test')}) == 450 and len({v('y_train')}) == 1347")]),
    ("q3", 2, "model = LogisticRegression(max_iter=3000).fit(X_train / 16, y_train)\n"
              "accuracy = model.score(X_test / 16, y_test)",
     [(1, lambda v, c: f"assert 0.0 <= {v('accuracy')} <= 1.0"),
      (1, lambda v, c: f"assert {v('accuracy')} > 0.93")]),
    ("q4", 2, "def share_of(labels, digit):\n"
              "    return float(np.mean(np.asarray(labels) == digit))",
     [(1, lambda v, c: f"assert {c('share_of', '[1, 1, 2, 3], 1')} == 0.5"),
      (1, lambda v, c: f"assert {c('share_of', '[4, 5], 9')} == 0.0")]),
    ("q5", 1, "baseline = float(pd.Series(y_test).value_counts(normalize=True).max())",
     [(1, lambda v, c: f"assert 0.05 < {v('baseline')} < 0.2")]),
]
OURS = (lambda name: f"student.get({name!r})",
        lambda name, args: f"student.call({name!r}, {args})")
THEIRS = (lambda name: name, lambda name, args: f"{name}({args})")
PARTIAL = {"q1", "q2", "q5"}  # what the partial submissions answer


def autograder_source(path):
    """The assignment in the autograder's authoring format."""
    cells = [new_raw_cell("# ASSIGNMENT\nid: bench-sklearn\ntitle: Digits\ncell_timeout: 60"),
             new_code_cell(SETUP)]
    for qid, points, solution, tests in QUESTIONS:
        cells.append(new_raw_cell(f"# QUESTION\nid: {qid}\npoints: {points}"))
        cells.append(new_code_cell(f"# BEGIN SOLUTION\n{solution}\n# END SOLUTION"))
        for number, (test_points, test) in enumerate(tests, start=1):
            cells.append(new_code_cell(f"# TEST\n# name: {qid} test {number}\n"
                                       f"# points: {test_points}\n"
                                       f"def test(student):\n    {test(*OURS)}"))
        cells.append(new_raw_cell("# END QUESTION"))
    nbformat.write(new_notebook(cells=cells, metadata=_kernel()), path)


def nbgrader_source(path):
    """The same assignment in nbgrader's format (solution and autograder-test cells)."""
    cells = [new_markdown_cell("# Digits"), new_code_cell(SETUP)]
    for qid, points, solution, tests in QUESTIONS:
        cells.append(_nbgrader(new_code_cell(f"### BEGIN SOLUTION\n{solution}\n"
                                             "### END SOLUTION"),
                               f"{qid}_answer", solution=True))
        for number, (test_points, test) in enumerate(tests, start=1):
            cells.append(_nbgrader(new_code_cell(test(*THEIRS)), f"{qid}_test{number}",
                                   grade=True, points=test_points))
    nbformat.write(new_notebook(cells=cells, metadata=_kernel()), path)


def _nbgrader(cell, grade_id, solution=False, grade=False, points=0):
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": grade,
                                 "locked": grade, "schema_version": 3, "task": False,
                                 **({"points": points} if grade else {})}
    return cell


def _kernel():
    return {"kernelspec": {"name": "python3", "display_name": "Python 3",
                           "language": "python"}}


def answered(student_notebook, kind, find_question):
    """The student notebook with the solutions written in (all, some or none)."""
    nb = nbformat.read(student_notebook, as_version=4)
    solutions = {qid: solution for qid, _, solution, _ in QUESTIONS}
    for cell in nb.cells:
        qid = find_question(cell)
        if qid and (kind == "correct" or (kind == "partial" and qid in PARTIAL)):
            cell.source = solutions[qid]
    return nb


def _our_question(cell):
    if cell.cell_type == "code" and "YOUR CODE HERE" in cell.source:
        return cell.get("metadata", {}).get("autograder", {}).get("question")
    return None


def _their_question(cell):
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
    return grade_id[:-len("_answer")] if grade_id.endswith("_answer") else None


KINDS = ["correct", "partial", "blank"]


def run_nbgrader(nbgrader, course, n):
    """Set up an nbgrader course, submit N notebooks, autograde; return (seconds, scores)."""
    (course / "source" / "ps1").mkdir(parents=True)
    nbgrader_source(course / "source" / "ps1" / "ps1.ipynb")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'bench'\n"
        "c.ExecutePreprocessor.timeout = 60\n")
    # nbgrader runs `alembic` from its own environment; its kernel is that environment's.
    path = f"{Path(nbgrader).resolve().parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MPLBACKEND": "Agg"}
    _run([nbgrader, "db", "assignment", "add", "ps1"], course, env)
    _run([nbgrader, "generate_assignment", "ps1", "--force"], course, env)
    release = course / "release" / "ps1" / "ps1.ipynb"
    for index in range(n):
        folder = course / "submitted" / f"s{index:04d}" / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(answered(release, KINDS[index % 3], _their_question),
                       folder / "ps1.ipynb")
        (folder / "timestamp.txt").write_text("2026-11-25 10:00:00.000000 UTC")
    start = time.perf_counter()
    _run([nbgrader, "autograde", "ps1", "--force"], course, env)
    seconds = time.perf_counter() - start
    _run([nbgrader, "export", "--to", str(course / "grades.csv")], course, env)
    with open(course / "grades.csv", newline="") as grades:
        scores = collections.Counter(float(row["raw_score"]) for row in csv.DictReader(grades))
    return seconds, scores


def _run(argv, cwd, env):
    run = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed:\n{run.stderr[-3000:]}")
    return run


def run_autograder(tmp, n, workers, instrument=False, template=True):
    """Assign, write N submissions, grade; return (seconds, scores, per-stage seconds)."""
    name = f"{workers}-{instrument}-{template}"
    output = assign(autograder_source_path(tmp), tmp / f"assign-{name}", verify=False)
    subs = tmp / f"subs-{name}"
    subs.mkdir()
    paths = []
    for index in range(n):
        path = subs / f"s{index:04d}.ipynb"
        nbformat.write(answered(output.notebook, KINDS[index % 3], _our_question), path)
        paths.append(path)
    stages = Stages() if instrument else None
    if stages:
        stages.install()
    try:
        start = time.perf_counter()
        options = grading.GradeOptions(workers=workers, quiet=True,
                                       limits=Limits(template=template))
        results = grading.grade(read_bundle(output.bundle), paths, tmp / f"out-{name}",
                                options)
        seconds = time.perf_counter() - start
    finally:
        if stages:
            stages.uninstall()
    return seconds, collections.Counter(r.score for r in results), stages


def autograder_source_path(tmp):
    path = tmp / "source.ipynb"
    if not path.exists():
        autograder_source(path)
    return path


class Stages:
    """Seconds spent in each grading stage, summed over a run with one worker."""

    def __init__(self):
        self.seconds = collections.Counter()
        self.saved = []

    def _wrap(self, owner, name, stage):
        raw = owner.__dict__[name]  # the descriptor itself, restored as it was
        self.saved.append((owner, name, raw))
        original = getattr(owner, name)  # a class method comes bound to its class
        seconds = self.seconds

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[stage(args) if callable(stage) else stage] += \
                    time.perf_counter() - start
        setattr(owner, name, staticmethod(timed) if isinstance(raw, classmethod) else timed)

    def install(self):
        self._wrap(KernelProcess, "launch", "start a sandboxed kernel process")
        self._wrap(running.NotebookRun, "_connect", "wait until the kernel is ready")
        self._wrap(running.NotebookRun, "_run_cell",
                   lambda args: ("run the set-up cell (imports, data)"
                                 if "import" in args[1].source else "run the answer cells"))
        self._wrap(grading, "grade_question", "run the tests (queries to the kernel)")
        self._wrap(grading, "save_result", "write result files")
        self._wrap(grading, "grade_one", "total per submission")

    def uninstall(self):
        for owner, name, raw in reversed(self.saved):
            setattr(owner, name, raw)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="submissions (default 30)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--nbgrader", default=shutil.which("nbgrader"),
                        help="the nbgrader executable (default: the one on PATH)")
    args = parser.parse_args()
    if not args.nbgrader:
        raise SystemExit("nbgrader is not installed here; see this file's docstring and give "
                         "--nbgrader PATH")
    with tempfile.TemporaryDirectory(prefix="nbgrader-benchmark-") as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o711)  # kernels' uids (as root) must reach their folders inside
        theirs, their_scores = run_nbgrader(args.nbgrader, tmp / "course", args.n)
        forked, forked_scores, _ = run_autograder(tmp, args.n, args.workers)
        execd, execd_scores, _ = run_autograder(tmp, args.n, args.workers, template=False)
        print(f"{args.n} submissions of a 5-question scikit-learn assignment "
              f"(correct, partial, blank in turn)")
        for label, seconds, scores in (
                ("nbgrader autograde", theirs, their_scores),
                (f"autograder grade --workers {args.workers} --no-template", execd,
                 execd_scores),
                (f"autograder grade --workers {args.workers}", forked, forked_scores)):
            print(f"  {label:45s} {seconds:7.1f} s  {args.n / seconds:5.2f} submissions/s  "
                  f"scores {_scores(scores)}")
        print(f"  throughput ratio autograder / nbgrader: {theirs / forked:.2f} "
              f"(kernels started by exec: {theirs / execd:.2f})")
        print(f"  throughput ratio template / exec:       {execd / forked:.2f}")
        rows = {}
        for template in (False, True):
            one, _, stages = run_autograder(tmp, args.n, 1, instrument=True, template=template)
            rows[template] = {stage: s / args.n for stage, s in stages.seconds.items()}
            rows[template]["submissions per second, one worker"] = args.n / one
        print("\nwhere the time goes, one worker, seconds per submission (the next kernel "
              "starts while the current one is graded):")
        print(f"  {'stage':40s} {'exec':>7s} {'template':>9s}")
        last = ("total per submission", "submissions per second, one worker")
        for stage in sorted(set(rows[False]) - set(last), key=lambda k: -rows[False][k]) + \
                list(last):
            print(f"  {stage:40s} {rows[False][stage]:7.3f} {rows[True].get(stage, 0):9.3f}")
        print(json.dumps({"nbgrader_s": round(theirs, 2), "autograder_s": round(forked, 2),
                          "autograder_exec_s": round(execd, 2),
                          "ratio": round(theirs / forked, 2),
                          "ratio_exec": round(theirs / execd, 2)}))


def _scores(counter):
    return ", ".join(f"{score:g}×{count}" for score, count in sorted(counter.items()))


if __name__ == "__main__":
    main()
