"""Grading throughput against the number of local Dask workers, with a local run as the peer.

    python benchmarks/cluster_scaling.py [--n 24] [--workers 1 2 3 4] [--figure scaling.svg]

Grades N copies of the sample exercise's correct/partial/wrong submissions: first with the
local grader (``--workers 2``, the peer), then through a Dask scheduler and K workers started
on 127.0.0.1 exactly as an instructor would (``dask scheduler``, ``dask worker --nthreads 1``),
for each K. Prints submissions per second and each run's ratio to the peer, measured in the
same run; ``--figure`` writes the plot. On a 2-core machine throughput cannot grow past two
workers: the figure shows where the cores run out, and on more machines the same command adds
their cores.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assign import assign  # noqa: E402
from autograder.authoring.bundle import read_bundle  # noqa: E402
from autograder.grading.grade import GradeOptions, grade  # noqa: E402

SAMPLE = ROOT / "exercises" / "00-how-to-use"
DASK = str(Path(sys.executable).with_name("dask"))


def _port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(workers, logs):
    """A scheduler and ``workers`` workers; returns (address, processes)."""
    from distributed import Client
    address = f"tcp://127.0.0.1:{_port()}"
    commands = [[DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                 "--no-dashboard"]]
    commands += [[DASK, "worker", address, "--nthreads", "1", "--memory-limit", "3GiB",
                  "--no-dashboard"] for _ in range(workers)]
    processes = []
    for number, command in enumerate(commands):
        with open(logs / f"{number}.log", "wb") as log:
            processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(workers, timeout=120)
    return address, processes


def stop_cluster(address, processes):
    from distributed import Client
    with Client(address, timeout="10s") as client:
        client.shutdown()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(p.poll() is None for p in processes):
        time.sleep(0.2)
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def timed(bundle, paths, out, options):
    start = time.perf_counter()
    results = grade(bundle, paths, out, options)
    seconds = time.perf_counter() - start
    assert all(r.status == "graded" for r in results), [r.problems for r in results]
    return len(paths) / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundle = read_bundle(assign(SAMPLE / "source.ipynb", tmp / "dist", verify=False).bundle)
        folder = tmp / "subs"
        folder.mkdir()
        kinds = ["correct", "partial", "wrong"]
        paths = []
        for i in range(args.n):
            path = folder / f"s{i:03d}.ipynb"
            shutil.copy(SAMPLE / "submissions" / f"{kinds[i % 3]}.ipynb", path)
            paths.append(path)
        peer = timed(bundle, paths, tmp / "local", GradeOptions(workers=2, quiet=True))
        print(f"{args.n} submissions on {os.cpu_count()} cores")
        print(f"local --workers 2 (peer): {peer:.2f} submissions/s")
        rates = {}
        for count in args.workers:
            logs = tmp / f"logs{count}"
            logs.mkdir()
            address, processes = start_cluster(count, logs)
            try:
                rates[count] = timed(bundle, paths, tmp / f"dask{count}",
                                     GradeOptions(quiet=True, cluster=address))
            finally:
                stop_cluster(address, processes)
            print(f"Dask, {count} worker{'s' if count > 1 else ''}: {rates[count]:.2f} "
                  f"submissions/s = {rates[count] / peer:.2f} x the local run, "
                  f"{rates[count] / rates[min(rates)]:.2f} x one Dask worker")
    if args.figure:
        from matplotlib.figure import Figure
        figure = Figure(figsize=(5, 3.2), layout="constrained")
        ax = figure.subplots()
        ax.plot(list(rates), list(rates.values()), marker="o", label="Dask workers")
        ax.axhline(peer, color="grey", linestyle="--", label="local, --workers 2")
        ax.set_xlabel("local Dask workers (one thread each)")
        ax.set_ylabel("submissions per second")
        ax.set_xticks(list(rates))
        ax.legend()
        figure.savefig(args.figure)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
