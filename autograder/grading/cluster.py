"""Grading on many machines: each submission is a task on a ``dask.distributed`` cluster.

The client (the instructor's ``autograder grade ... --cluster ADDRESS``) sends the bundle once
and each submission's bytes as a task; a Dask worker grades it exactly as a local run does
(same sandbox, same limits: :func:`autograder.grading.grade.grade_one`) and returns the result
as JSON. Only the client writes results, atomically, as tasks finish, so a batch is resumable
and a result is written once per student. When a worker dies mid-submission, the scheduler
gives its task to another worker (Dask's ``distributed.scheduler.allowed-failures``, 3 by
default); a submission whose task fails for good gets an ``error`` result and the batch goes
on.

Each worker process keeps one kernel slot (and, as root, its own leased uids) across tasks,
through a :class:`GradingPlugin` that also cleans up when the worker closes. Start workers with
one thread each (``dask worker ADDRESS --nthreads 1``): a worker grades one submission at a
time; use ``--nworkers`` for more per machine.

The bundle holds the hidden tests. Sending it to a non-loopback ``tcp://`` address (not
encrypted) is refused unless ``insecure=True`` (``--insecure-cluster``): use ``tls://`` with
certificates (Dask's ``Security``), and run only workers you trust, since a worker sees the
bundle.
"""

import atexit
import ipaddress
import itertools
import os
import shutil
import socket
import threading
import urllib.parse
from dataclasses import replace
from pathlib import Path

from distributed import Client, WorkerPlugin, as_completed, get_worker

from ..authoring.bundle import read_bundle
from ..exceptions import UsageError
from ..reporting.results import Result
from ..sandbox.launch import UidLease, Workspace
from ..sandbox.run import KernelSlot
from .grade import grade_one, limits_for

__all__ = ["check_address", "grade_on_cluster", "GradingPlugin", "grade_remote"]

PLUGIN = "autograder-grading"
# Submissions on the cluster per worker thread: one grading, one queued behind it.
IN_FLIGHT = 2


def check_address(address, insecure=False):
    """Refuse an unencrypted connection to another machine unless ``insecure``.

    Raises
    ------
    UsageError
        Naming the address and the fix.
    """
    parts = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls", "inproc", "ucx", "ws", "wss"):
        raise UsageError(f"--cluster {address!r}: use a scheduler address such as "
                         "tls://HOST:8786 or tcp://127.0.0.1:8786")
    if parts.scheme in ("tls", "wss", "inproc") or insecure:
        return
    if not _loopback(parts.hostname or ""):
        raise UsageError(
            f"--cluster {address}: the bundle (with its hidden tests) would cross the network "
            "unencrypted; use tls:// with --tls-ca-file, --tls-cert and --tls-key (Dask's TLS "
            "security), or pass --insecure-cluster if this network is private")


def _loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback
                   for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def _security(tls):
    if not tls:
        return None
    from distributed.security import Security
    ca, cert, key = tls
    return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
                    require_encryption=True)


class GradingPlugin(WorkerPlugin):
    """Per Dask worker: a workspace, leased uids (as root) and one kernel slot, kept across
    tasks and removed when the worker closes."""

    name = PLUGIN

    def setup(self, worker=None):
        """Called by Dask when the plugin is registered on a worker."""
        self.lock = threading.Lock()
        self.slot = self.lease = None
        self.workspace = Workspace()
        self.bundles = {}
        atexit.register(self.teardown)  # also when the worker process is stopped by a signal

    def ready(self, limits):
        """The worker's kernel slot, made on first use (again if the limits change)."""
        if self.slot is None or self.slot.limits != limits:
            self._close_slot()
            if os.geteuid() == 0 and self.lease is None:
                self.lease = UidLease(limits.uid_base, 2)
            self.slot = KernelSlot(self.workspace, self.lease.uids if self.lease else (None,),
                                   limits)
        return self.slot

    def bundle(self, sha, data):
        """The bundle with hash ``sha``, read once from a private file that is then removed."""
        if sha not in self.bundles:
            path = self.workspace.new_folder() / "bundle.json"
            path.write_bytes(data)
            try:
                self.bundles[sha] = read_bundle(path)
            finally:
                shutil.rmtree(path.parent, ignore_errors=True)
        return self.bundles[sha]

    def _close_slot(self):
        if self.slot is not None:
            self.slot.close()
            self.slot = None

    def teardown(self, worker=None):
        """Called by Dask when the worker closes: kill kernels, free uids, remove files."""
        self._close_slot()
        if self.lease is not None:
            self.lease.release()
            self.lease = None
        self.workspace.cleanup()


def grade_remote(bundle_sha, bundle_data, name, data, options):
    """Task run on a Dask worker: grade one submission; return (result JSON, notebook)."""
    plugin = get_worker().plugins[PLUGIN]
    with plugin.lock:
        bundle = plugin.bundle(bundle_sha, bundle_data)
        slot = plugin.ready(limits_for(bundle, options))
        folder = plugin.workspace.new_folder()
        try:
            path = folder / name
            if isinstance(data, dict):  # a folder, sent file by file
                path.mkdir()
                for relative, content in data.items():
                    target = path / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
            else:
                path.write_bytes(data)
            staging = folder / "staging"
            staging.mkdir(mode=0o700)
            result, executed = grade_one(bundle, path, slot, staging, options)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return result.to_json(), executed


def _payload(path):
    """What travels for one submission: a file's bytes, or a folder's files."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        files = {}
        for item in sorted(path.rglob("*")):
            if item.is_file() and not item.is_symlink():
                files[str(item.relative_to(path))] = item.read_bytes()
        return files
    return path.read_bytes()


def grade_on_cluster(bundle, paths, store, options, take, save, failure, progress):
    """Grade ``paths`` on the cluster at ``options.cluster``; save each result as it comes.

    At most :data:`IN_FLIGHT` submissions per worker thread are on the cluster at once (a new
    one is sent as each result comes back), so the client holds a bounded number of
    submissions however large the batch.

    Parameters
    ----------
    take : callable(result)
        Receives each result once it is saved.
    save : callable(result, executed) -> bool
        Writes one result (the client's only writer).
    failure : callable(path, message) -> Result
        The result of a submission whose task failed for good.
    progress : callable() -> context manager with ``update(n)``
        The progress bar.
    """
    check_address(options.cluster, options.insecure_cluster)
    data = bundle.path.read_bytes()
    try:
        client = Client(options.cluster, security=_security(options.tls), timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {options.cluster} ({exc}); start "
                         "it with `dask scheduler` and check the address") from None
    with client:
        client.register_plugin(GradingPlugin(), name=PLUGIN)
        shared = client.scatter(data, broadcast=True, hash=False)
        local = _without_cluster(options)
        waiting = iter(paths)
        futures = {}

        def send(count):
            for path in itertools.islice(waiting, count):
                future = client.submit(grade_remote, bundle.sha256, shared, Path(path).name,
                                       _payload(path), local, pure=False,
                                       key=f"grade-{Path(path).name}-{os.urandom(4).hex()}")
                futures[future] = path
                yield future

        def room():  # workers may join or leave during the batch
            wanted = max(IN_FLIGHT, IN_FLIGHT * sum(client.nthreads().values()))
            return max(0, wanted - len(futures))

        running = as_completed(send(room()))
        with progress() as bar:
            for future in running:
                path = futures.pop(future)
                try:
                    text, executed = future.result()
                    result = Result.from_json(text)
                except Exception as exc:  # noqa: BLE001 - the task failed for good
                    result, executed = failure(path, f"the Dask task grading it failed "
                                               f"({type(exc).__name__}: {exc}); re-run to "
                                               "retry"), None
                if not save(result, executed):
                    result.status = "error"
                take(result)
                bar.update(1)
                running.update(send(room()))


def _without_cluster(options):
    return replace(options, cluster=None, tls=(), quiet=True)
