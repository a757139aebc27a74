"""A very large batch: the grader's memory and open files stay flat, and nothing is left behind.

    python benchmarks/batch_memory.py [--n 10000] [--workers 2]

Grades N copies of a light one-question exercise (``answer = 42``; no heavy imports, so the
run measures the grader and not the exercise) in one ``grade`` call, sampling the grader
process's resident memory (RSS) and open file descriptors every 2 seconds. Prints both at
each tenth of the batch, the growth from the first tenth to the end (the figure that must
stay near zero), and then checks that no process of the batch is left (children of the
grader, and processes started during the run under the kernels' uids: run it alone) and no
temporary folder remains in the run's own temporary directory.
"""

import argparse
import csv
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbformat.v4 import new_code_cell, new_notebook, new_raw_cell

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assign import assign  # noqa: E402
from autograder.authoring.bundle import read_bundle  # noqa: E402
from autograder.grading.grade import GradeOptions, grade  # noqa: E402


def light_source(path):
    """A one-question source notebook in the authoring format."""
    nb = new_notebook(cells=[
        new_raw_cell("# ASSIGNMENT\nid: light\ntitle: A light exercise\ncell_timeout: 30"),
        new_raw_cell("# QUESTION\nid: q1\npoints: 1"),
        new_code_cell("answer = 42  # SOLUTION"),
        new_code_cell("# TEST\n# points: 1\ndef test(student):\n"
                      "    assert student.get('answer') == 42"),
        new_raw_cell("# END QUESTION"),
    ])
    nbformat.write(nb, path)
    return path


class Sampler(threading.Thread):
    """RSS and open fds of this process, with how many results were written, every 2 s."""

    def __init__(self, out):
        super().__init__(daemon=True)
        self.out, self.samples, self.stop = out, [], threading.Event()
        self.me = psutil.Process()

    def run(self):
        while not self.stop.wait(2.0):
            done = sum(1 for _ in os.scandir(self.out)) if self.out.exists() else 0
            self.samples.append((done, self.me.memory_info().rss, self.me.num_fds()))


def leftovers(before, started):
    """Processes and temporary folders of the batch that are still there."""
    children = psutil.Process().children(recursive=True)
    kernels = [p.pid for p in psutil.process_iter(["uids", "create_time"])
               if p.info["uids"] and 61000 <= p.info["uids"].real < 62000
               and p.info["create_time"] >= started]
    folders = sorted(set(Path(tempfile.gettempdir()).glob("autograder-*")) - before)
    return children, kernels, folders


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # A temporary directory of this run's own, so what is left in it is this run's.
    tempfile.tempdir = tempfile.mkdtemp(prefix="batch-memory-")
    os.chmod(tempfile.tempdir, 0o711)  # kernels' uids must reach their folders inside
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = light_source(tmp / "light.ipynb")
        output = assign(source, tmp / "dist", verify=False)
        bundle = read_bundle(output.bundle)
        answer = nbformat.read(output.notebook, as_version=4)
        for cell in answer.cells:
            if cell.get("metadata", {}).get("autograder", {}).get("question") == "q1":
                cell.source = "answer = 42"
        subs = tmp / "subs"
        subs.mkdir()
        text = nbformat.writes(answer)
        paths = []
        for i in range(args.n):
            path = subs / f"s{i:05d}.ipynb"
            path.write_text(text)
            paths.append(path)
        before = set(Path(tempfile.gettempdir()).glob("autograder-*"))
        started = time.time()
        out = tmp / "out"
        sampler = Sampler(out)
        sampler.start()
        start = time.perf_counter()
        # As `autograder grade` runs it: results go to disk as they come, none kept.
        statuses = grade(bundle, paths, out, GradeOptions(workers=args.workers, quiet=True),
                         collect=False)
        seconds = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
        with open(out / "gradebook.csv", newline="") as book:
            graded = sum(row["status"] == "graded" and float(row["total"]) == 1
                         for row in csv.DictReader(book))
        print(f"statuses: {dict(statuses)}")
        print(f"{args.n} submissions, {args.workers} workers: {seconds:.0f} s "
              f"({args.n / seconds:.1f} submissions/s); {graded} graded with full marks")
        report(sampler.samples, args.n)
        children, kernels, folders = leftovers(before, started)
        print(f"left behind: {len(children)} child processes, {len(kernels)} processes under "
              f"the kernels' uids, {len(folders)} temporary folders")
    os.rmdir(tempfile.tempdir)


def report(samples, n):
    if not samples:
        print("(the batch ended before the first sample)")
        return
    print(" results written   RSS (MiB)   open fds")
    shown = set()
    for done, rss, fds in samples:
        tenth = min(10, 10 * done // max(1, n))
        if tenth not in shown:
            shown.add(tenth)
            print(f"{done:>16,}   {rss / 2**20:9.1f}   {fds:8d}")
    first = [s for s in samples if s[0] >= n // 10] or samples
    last = samples[-1]
    peak = max(s[1] for s in samples)
    print(f"from the first tenth to the end: RSS {(last[1] - first[0][1]) / 2**20:+.1f} MiB, "
          f"open fds {last[2] - first[0][2]:+d}; peak RSS {peak / 2**20:.1f} MiB")
    middle = [s for s in samples if n // 10 <= s[0] <= 9 * n // 10]
    if len(middle) > 1 and middle[-1][0] > middle[0][0]:
        slope = (middle[-1][1] - middle[0][1]) / (middle[-1][0] - middle[0][0])
        print(f"RSS growth while grading (first to ninth tenth): {slope / 1024:+.2f} KiB per "
              f"submission ({slope * 1000 / 2**20:+.2f} MiB per 1,000)")


if __name__ == "__main__":
    main()
