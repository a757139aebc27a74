"""Grading through a real Dask cluster on 127.0.0.1: the same commands an instructor runs
(`dask scheduler`, `dask worker`), results identical to a local run, and a worker killed in
the middle of a batch without losing or duplicating a result."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder.assign import assign
from autograder.authoring.bundle import read_bundle
from autograder.exceptions import UsageError
from autograder.grading.cluster import check_address
from autograder.grading.grade import GradeOptions, grade

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = ROOT / "exercises" / "00-how-to-use"
DASK = str(Path(sys.executable).with_name("dask"))
KINDS = ("correct", "partial", "wrong", "crashing", "looping")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A scheduler and workers as separate process groups, torn down whatever happens."""

    def __init__(self, workers, tmp):
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.logs = tmp
        self.scheduler = self._start("scheduler", [DASK, "scheduler", "--host", "127.0.0.1",
                                                   "--port", str(self.port),
                                                   "--no-dashboard"])
        self.workers = [self._start(f"worker{n}", [
            DASK, "worker", self.address, "--nthreads", "1", "--nworkers", "1",
            "--memory-limit", "4GiB", "--no-dashboard", "--name", f"w{n}"])
            for n in range(workers)]
        self._wait(workers)

    def _start(self, name, command):
        with open(self.logs / f"{name}.log", "wb") as log:
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=self.logs)

    def _wait(self, count):
        from distributed import Client
        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(count, timeout=120)

    def kill(self, process):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def close(self):
        from distributed import Client
        try:  # the way an instructor stops a cluster: workers close and clean up
            with Client(self.address, timeout="10s") as client:
                client.shutdown()
        except (OSError, TimeoutError):
            pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
                p.poll() is None for p in [*self.workers, self.scheduler]):
            time.sleep(0.2)
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The bundle and 10 submissions: two of each sample kind."""
    tmp = tmp_path_factory.mktemp("cluster")
    bundle = read_bundle(assign(EXERCISE / "source.ipynb", tmp / "dist", verify=False).bundle)
    folder = tmp / "subs"
    folder.mkdir()
    for kind in KINDS:
        for copy in (1, 2):
            shutil.copy(EXERCISE / "submissions" / f"{kind}.ipynb", folder / f"{kind}{copy}.ipynb")
    expected = json.loads((EXERCISE / "submissions" / "expected.json").read_text())
    return bundle, sorted(folder.glob("*.ipynb")), expected


def _summary(results):
    return {r.student: (r.status, r.score, tuple(sorted(r.question_scores().items())),
                        tuple(sorted({p.kind for p in r.problems}))) for r in results}


def _options(**extra):
    return GradeOptions(workers=2, quiet=True, cell_timeout=20, **extra)


def test_cluster_results_equal_a_local_run(batch, tmp_path):
    bundle, paths, _ = batch
    local = grade(bundle, paths, tmp_path / "local", _options())
    cluster = Cluster(2, tmp_path)
    try:
        remote = grade(bundle, paths, tmp_path / "remote", _options(cluster=cluster.address))
    finally:
        cluster.close()
    assert _summary(remote) == _summary(local)
    assert (tmp_path / "remote" / "gradebook.csv").read_text() == \
        (tmp_path / "local" / "gradebook.csv").read_text()
    assert all((tmp_path / "remote" / r.student / "executed.ipynb").exists()
               for r in remote if r.status == "graded")
    again = grade(bundle, paths, tmp_path / "remote", _options(cluster="tcp://127.0.0.1:9"))
    assert _summary(again) == _summary(local)  # all done: resumed without connecting


def test_a_worker_killed_mid_batch_loses_nothing(batch, tmp_path):
    bundle, paths, expected = batch
    out = tmp_path / "out"
    cluster = Cluster(2, tmp_path)
    try:
        killer = threading.Thread(target=_kill_when_busy, args=(cluster, out), daemon=True)
        killer.start()
        results = grade(bundle, paths, out, _options(cluster=cluster.address))
        killer.join(timeout=5)
    finally:
        cluster.close()
    assert cluster.workers[0].poll() is not None  # it was killed during the batch
    assert sorted(r.student for r in results) == sorted(p.stem for p in paths)
    for result in results:
        kind = result.student.rstrip("12")
        assert result.status == "graded", result.problems
        assert result.score == expected[kind]["total"], result.student
    stored = sorted(p.parent.name for p in out.glob("*/result.json"))
    assert stored == sorted(p.stem for p in paths)


def _kill_when_busy(cluster, out):
    """Kill worker 0 once the first result is written (its next task is then running)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(out.glob("*/result.json")):
        time.sleep(0.2)
    time.sleep(1.0)
    cluster.kill(cluster.workers[0])


@pytest.mark.parametrize("address", ["tcp://10.1.2.3:8786", "192.0.2.7:8786",
                                     "tcp://grader.example.org:8786"])
def test_unencrypted_remote_scheduler_is_refused(address):
    with pytest.raises(UsageError, match="unencrypted"):
        check_address(address)
    check_address(address, insecure=True)
    check_address("tls://grader.example.org:8786")
    check_address("tcp://127.0.0.1:8786")
