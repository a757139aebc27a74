"""Grading speed and memory: the autograder against running notebooks one by one.

    python benchmarks/grade_benchmark.py [--n 100] [--workers 2] [--floor-n N]

Grades N copies of the sample exercise's correct/partial/wrong submissions with the
autograder (N workers' kernels, the next kernel pre-started while the current one is graded),
printing seconds per submission and the grader process's peak RSS sampled at 25%, 50% and
100% of the batch. As the floor, it then runs the same notebooks one after another with
``jupyter nbconvert --to notebook --execute`` or, when nbconvert is not installed, nbclient's
``jupyter execute``, and prints the ratio (autograder time / floor time per submission).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assign import assign  # noqa: E402
from autograder.authoring.bundle import read_bundle  # noqa: E402
from autograder.grading.grade import GradeOptions, grade  # noqa: E402

SAMPLE = ROOT / "exercises" / "00-how-to-use"


def make_submissions(folder, count):
    """Copy correct/partial/wrong in turn into ``folder``; return the paths."""
    kinds = ["correct", "partial", "wrong"]
    folder.mkdir()
    paths = []
    for index in range(count):
        path = folder / f"student{index:03d}.ipynb"
        shutil.copyfile(SAMPLE / "submissions" / f"{kinds[index % 3]}.ipynb", path)
        paths.append(path)
    return paths


def run_autograder(bundle, paths, out, workers):
    """Grade and sample this process's RSS at 25%, 50% and 100% of the batch."""
    marks = sorted({max(1, round(len(paths) * f)) for f in (0.25, 0.5, 1.0)})
    samples, peak, done = {}, [0], threading.Event()

    def watch():
        process = psutil.Process()
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            finished = len(list(out.glob("*/result.json")))
            for mark in marks:
                if finished >= mark and mark not in samples:
                    samples[mark] = peak[0]
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    results = grade(read_bundle(bundle), paths, out, GradeOptions(workers=workers, quiet=True))
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    samples.setdefault(len(paths), peak[0])
    return seconds, samples, results


def floor_runner():
    """The one-notebook-at-a-time runner available here: (its name, argv for a notebook)."""
    try:
        import nbconvert  # noqa: F401
    except ImportError:
        return "jupyter execute (nbclient; nbconvert is not installed)", _nbclient_args
    return "jupyter nbconvert --to notebook --execute", _nbconvert_args


def _nbconvert_args(path, scratch):
    return [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
            "--allow-errors", "--output-dir", str(scratch), str(path)]


def _nbclient_args(path, scratch):
    copy = scratch / path.name
    shutil.copyfile(path, copy)
    return [sys.executable, "-c", "from nbclient.cli import main; main()", "--allow-errors",
            "--inplace", str(copy)]


def run_floor(paths, scratch):
    """Execute each notebook in its own process, one after another; return seconds."""
    _, arguments = floor_runner()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    for path in paths:
        run = subprocess.run(arguments(path, scratch), env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"the floor runner failed on {path}:\n{run.stderr[-2000:]}")
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="submissions (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="grading workers (default 2)")
    parser.add_argument("--floor-n", type=int, default=None,
                        help="notebooks run for the floor (default: all N)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grade-benchmark-") as tmp:
        tmp = Path(tmp)
        bundle = assign(SAMPLE / "source.ipynb", tmp / "assign", verify=False).bundle
        paths = make_submissions(tmp / "subs", args.n)
        seconds, samples, results = run_autograder(bundle, paths, tmp / "out", args.workers)
        graded = sum(r.status == "graded" for r in results)
        print(f"autograder: {args.n} submissions ({graded} graded) with {args.workers} "
              f"workers in {seconds:.1f} s: {seconds / args.n:.2f} s per submission")
        for mark, rss in sorted(samples.items()):
            print(f"  grader peak RSS after {mark:3d} submissions: {rss / 2**20:.0f} MiB")
        floor_paths = paths[: args.floor_n or args.n]
        (tmp / "floor").mkdir()
        floor = run_floor(floor_paths, tmp / "floor")
        per_floor = floor / len(floor_paths)
        print(f"floor: {floor_runner()[0]}, one notebook after another: {len(floor_paths)} "
              f"notebooks in {floor:.1f} s: {per_floor:.2f} s per submission")
        print(f"ratio autograder / floor per submission: {seconds / args.n / per_floor:.2f}")


if __name__ == "__main__":
    main()
