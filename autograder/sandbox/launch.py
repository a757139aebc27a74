"""Start kernels in a sandbox, and make sure nothing of them is left when they end.

With bubblewrap (the default on Linux, see :mod:`autograder.sandbox.bwrap`) each kernel gets new PID,
IPC, UTS, mount and network namespaces, a read-only view of the interpreter and nothing else of
the host, private size-capped tmpfs mounts for its home, ``/tmp``, ``/var/tmp`` and
``/dev/shm``, and the submission's files read-only. The kernel is PID 1 of its namespace, so
when it ends the kernel kills every process it started. As root it also runs as a leased
unprivileged uid and in its own control group (memory, processes and CPU capped for all its
processes together); without root a user namespace takes the uid's place.

Where bubblewrap cannot run (not installed, macOS, hosts that forbid namespaces) the kernel
runs as a plain process with resource limits, a private working folder and, as root, its own
uid and network namespace. Every result's ``sandbox`` record says which isolation it had.

The grader never writes, as root or otherwise, into a place the kernel can write: the
connection file is handed to bubblewrap through a pipe, the submission's files go into a
folder the kernel can only read, and the kernel copies them into its home itself.
"""

import fcntl
import json
import os
import re
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import psutil

from . import bwrap
from .cgroups import KernelGroup
from ..exceptions import SandboxError

__all__ = ["Limits", "Workspace", "KernelProcess", "UidLease", "isolation", "host_env"]

GIB = 1024 ** 3
MIB = 1024 ** 2
_WRAPPER = Path(__file__).with_name("_exec.py")
LEASE_FOLDER = Path("/run/autograder-uid-leases")


@dataclass(frozen=True)
class Limits:
    """Limits applied to every kernel.

    Attributes
    ----------
    memory : int, default=2 GiB
        Memory of all the kernel's processes together (control group, as root) and address
        space of each process (RLIMIT_AS).
    cpu_seconds : int, default=900
        CPU time limit (RLIMIT_CPU) of each process.
    cpus : float, default=1.0
        Cores the kernel's processes may use together (control group, as root).
    file_size : int, default=256 MiB
        Largest file the kernel may write (RLIMIT_FSIZE).
    disk : int, default=512 MiB
        Size of each private tmpfs (home, ``/tmp``, ``/var/tmp``, ``/dev/shm``); as root their
        pages also count against ``memory``.
    processes : int, default=256
        Processes and threads of the kernel (control group and RLIMIT_NPROC).
    open_files : int, default=1024
        Open file descriptors (RLIMIT_NOFILE).
    network : bool, default=False
        Allow network access (otherwise a private network namespace with only loopback).
    uid_base : int, default=61000
        When running as root, kernels run as unprivileged uids leased from ``uid_base``
        upwards (two per worker; see :class:`UidLease`).
    bubblewrap : bool, default=True
        Use bubblewrap when it works here; False forces the plain-process fallback.
    template : bool, default=True
        With bubblewrap, fork kernels from a pre-imported template
        (:mod:`autograder.sandbox.template`) instead of starting each by exec.
    preload : tuple of str, default=()
        Modules the template imports besides ipykernel (the reference solution's imports).
    """

    memory: int = 2 * GIB
    cpu_seconds: int = 900
    cpus: float = 1.0
    file_size: int = 256 * MIB
    disk: int = 512 * MIB
    processes: int = 256
    open_files: int = 1024
    network: bool = False
    uid_base: int = 61000
    bubblewrap: bool = True
    template: bool = True
    preload: tuple = ()

    def rlimits(self):
        """The per-process limits as the sandbox wrapper takes them."""
        return {"memory": self.memory, "cpu": self.cpu_seconds, "file_size": self.file_size,
                "processes": self.processes, "open_files": self.open_files, "core": 0}


@lru_cache(maxsize=1)
def _bwrap():
    return bwrap.find_bwrap()


def isolation(limits=Limits()):
    """How kernels are isolated on this machine: ``"bubblewrap"`` or ``"process"``, and why."""
    path, detail = _bwrap()
    if limits.bubblewrap and path:
        return "bubblewrap", detail
    return "process", detail if not path else "bubblewrap disabled by the caller"


class UidLease:
    """Exclusive use of unprivileged uids, shared safely between concurrent grader processes.

    Each uid in ``base .. base + span`` has a lock file in one machine-wide, root-only folder
    (:data:`LEASE_FOLDER`); holding its ``flock`` means no other grader uses that uid (the lock
    dies with the process), whatever ``TMPDIR`` each grader has. Processes left over under a
    newly leased uid (from a grader that crashed) are killed.

    Parameters
    ----------
    base : int
        First uid of the range.
    count : int
        How many uids to lease.
    span : int, default=1000
        Size of the range searched.
    folder : Path, default=LEASE_FOLDER
        Where the lock files live.
    """

    def __init__(self, base, count, span=1000, folder=LEASE_FOLDER):
        folder = Path(folder)
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if info.st_uid != os.geteuid() or info.st_mode & 0o077 or folder.is_symlink():
            raise SandboxError(f"{folder} is not a private folder of this user; remove it")
        self.uids, self._handles = [], []
        for uid in range(base, base + span):
            if len(self.uids) == count:
                break
            handle = os.open(folder / f"{uid}.lock", os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW,
                             0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            kill_uid(uid)
            self.uids.append(uid)
            self._handles.append(handle)
        if len(self.uids) < count:
            self.release()
            raise SandboxError(f"no free sandbox uid between {base} and {base + span}")

    def release(self):
        """Give the uids back."""
        for handle in self._handles:
            os.close(handle)
        self._handles = []


class Workspace:
    """A root-owned folder (mode 0711) for one grading run: inboxes, logs, staging.

    The grader holds a lock on a file inside for as long as the workspace lives; the kernel
    (and the system) drops it when the grader exits, however it exits. A new workspace
    removes the folders of graders that died without cleaning up (killed with SIGKILL, or
    by the out-of-memory killer): those whose lock is free.
    """

    PREFIX = "autograder-"
    NAME = re.compile(r"^autograder-[a-z0-9_]{8}$")  # what mkdtemp makes of PREFIX
    LOCK = ".owner.lock"
    # A folder with no lock file may be one another grader has just made: left alone unless
    # it is older than this (seconds).
    UNLOCKED_GRACE = 3600

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix=self.PREFIX))
        self.root.chmod(0o711)
        self._lock = os.open(self.root / self.LOCK, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC,
                             0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.removed = self.remove_stale(self.root.parent, keep=self.root)

    @classmethod
    def remove_stale(cls, parent, keep=None):
        """Remove workspaces under ``parent`` whose grader is gone; return their paths.

        Only folders owned by this user are considered, and only those whose lock can be
        taken (no live grader holds it) or that have no lock file and are old.
        """
        removed = []
        for folder in Path(parent).glob(cls.PREFIX + "*"):
            if not cls.NAME.match(folder.name):  # e.g. assign's autograder-verify-*
                continue
            try:
                info = folder.lstat()
            except OSError:
                continue
            if (folder == keep or not stat.S_ISDIR(info.st_mode)
                    or info.st_uid != os.geteuid()):
                continue
            if cls._abandoned(folder, info):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        return removed

    @classmethod
    def _abandoned(cls, folder, info):
        try:
            fd = os.open(folder / cls.LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return time.time() - info.st_mtime > cls.UNLOCKED_GRACE
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False  # a live grader holds it
        finally:
            os.close(fd)

    def new_folder(self, mode=0o700):
        """A fresh folder with an unguessable name, owned by the grader."""
        path = self.root / secrets.token_hex(8)
        path.mkdir(mode=mode)
        path.chmod(mode)
        return path

    def cleanup(self):
        """Remove everything (symlinks are removed, never followed)."""
        shutil.rmtree(self.root, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


@dataclass
class KernelProcess:
    """A kernel started inside the sandbox.

    Attributes
    ----------
    popen : subprocess.Popen
        The process the grader started (bubblewrap, or the kernel itself in the fallback).
    pid : int
        The kernel's process id as the grader sees it (for signals).
    inbox : Path
        Read-only folder of the submission's files, which the kernel copies into its home.
    inside_inbox : str
        The inbox's path as the kernel sees it.
    connection : dict
        Connection info for a client (ipc transport, paths as the grader sees them).
    uid : int or None
        The uid it runs as, when dropped from root.
    status : dict
        What the sandbox achieved, recorded in every result.
    log : Path
        Its standard error.
    home : Path or None
        Fallback only: its private working folder on the host.
    group : KernelGroup or None
        Its control group, as root.
    """

    popen: subprocess.Popen
    pid: int
    inbox: Path
    inside_inbox: str
    connection: dict
    uid: int = None
    status: dict = field(default_factory=dict)
    log: Path = None
    home: Path = None
    group: KernelGroup = None

    @classmethod
    def launch(cls, workspace, *, uid=None, limits=Limits(), inbox=None, template=None):
        """Start a kernel without waiting for it to be ready.

        Parameters
        ----------
        workspace : Workspace
            Where its inbox and log are made.
        uid : int, optional
            Unprivileged uid to run as (only honoured when running as root).
        limits : Limits
            Resource limits.
        inbox : Path, optional
            Reuse this inbox (a replacement kernel for the same submission).
        template : Template, optional
            Fork the kernel from this pre-imported template into the bubblewrap sandbox
            instead of exec'ing it there (bubblewrap only).

        Raises
        ------
        SandboxError
            If the sandbox could not be entered (the message includes the kernel's stderr).
        """
        uid = uid if os.geteuid() == 0 else None
        made = inbox is None
        inbox = inbox or workspace.new_folder(0o755 if uid is not None else 0o700)
        log = workspace.root / f"{secrets.token_hex(8)}.log"
        kind, detail = isolation(limits)
        try:
            if kind == "bubblewrap":
                kernel = _start_bwrap(workspace, inbox, log, uid, limits, template)
            else:
                kernel = _start_plain(workspace, inbox, log, uid, limits)
                kernel.status["bubblewrap"] = f"not used: {detail}"
        except BaseException:
            if made:
                shutil.rmtree(inbox, ignore_errors=True)
            raise
        return kernel

    def stderr_tail(self, size=2000):
        """The last ``size`` characters the kernel wrote to stderr."""
        try:
            with open(self.log, "rb") as handle:
                handle.seek(max(0, self.log.stat().st_size - size))
                return handle.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def stderr_bytes(self):
        """How much the kernel wrote to stderr."""
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    @property
    def alive(self):
        """True while the kernel process runs."""
        return self.popen.poll() is None

    def wait_exit(self, timeout):
        """Wait up to ``timeout`` seconds for the kernel to end; True if it did."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def interrupt(self):
        """Send SIGINT, as Jupyter does to interrupt a cell."""
        if self.alive:
            try:
                os.kill(self.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def exit_description(self):
        """How the kernel ended, e.g. ``"exit code 3"`` or ``"killed by signal SIGKILL"``."""
        code = self.popen.poll()
        if code is None:
            return "still running"
        if self.group is not None and self.group.out_of_memory():
            return "the memory limit was reached"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        if code > 128 and self.home is None:  # bubblewrap reports a signal as 128 + number
            return f"killed by signal {_signal_name(code - 128)}"
        return f"exit code {code}"

    def kill(self):
        """Kill the kernel and every process it started; wait until they are gone."""
        for pid in (self.pid, self.popen.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.group is not None:
            self.group.remove()
        if self.uid is not None:
            kill_uid(self.uid)

    def remove(self, *, keep_inbox=False):
        """Kill the kernel and delete its log (and inbox, unless kept for a replacement)."""
        self.kill()
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
        if not keep_inbox:
            shutil.rmtree(self.inbox, ignore_errors=True)
        self.log.unlink(missing_ok=True)


def _start_bwrap(workspace, inbox, log, uid, limits, template=None):
    """Start the kernel inside bubblewrap: build its view, start it, let it in, record it.

    With a ``template`` the wrapper holds the sandbox open and the kernel is forked into it.
    """
    path, version = _bwrap()
    key = secrets.token_hex(16)
    pipes = _Pipes()
    view = _view(inbox, uid, limits, pipes, _connection(bwrap.SOCKETS + "/k", key))
    config = {"limits": limits.rlimits(), "uid": uid, "cwd": bwrap.HOME,
              "own": [bwrap.HOME, bwrap.SOCKETS], "status_fd": pipes.output("status"),
              "hold_fd": pipes.output("hold", reverse=True) if template else None}
    command = [path, *bwrap.bwrap_arguments(view),
               "--block-fd", str(pipes.output("block", reverse=True)), *_env_arguments(), "--",
               sys.executable, "-I", "-S", bwrap.WRAPPER, json.dumps(config), "--",
               sys.executable, "-m", "ipykernel_launcher", "-f", bwrap.CONNECTION,
               "--HistoryManager.enabled=False"]
    group = KernelGroup.create(memory=limits.memory, processes=limits.processes,
                               cpus=limits.cpus) if uid is not None else None
    with open(log, "wb") as stderr:
        popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=stderr, pass_fds=pipes.child_fds(), close_fds=True,
                                 start_new_session=True)
    pipes.close_child_ends()
    kernel = KernelProcess(popen, popen.pid, inbox, bwrap.INBOX, {}, uid, {}, log, None, group)
    try:
        init, status = _let_in(kernel, pipes, group)
        if template is not None:
            kernel.pid = _fork_kernel(template, kernel, pipes.mine("hold"), group, uid, limits)
    except BaseException:
        kernel.remove(keep_inbox=True)
        raise
    finally:
        pipes.close_all()
    kernel.connection = _connection(f"/proc/{init}/root{bwrap.SOCKETS}/k", key)
    kernel.status = _bwrap_record(version, status, uid, limits, group)
    if template is not None:
        kernel.status["kernel"] = ("forked from a template that had imported "
                                   f"{', '.join(template.modules)} before any submission")
    return kernel


def _fork_kernel(template, kernel, hold, group, uid, limits):
    """Have ``template`` fork a kernel into the sandbox held open by the wrapper
    (``kernel.pid``); return the kernel's pid."""
    report, report_end = os.pipe()
    log = os.open(kernel.log, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    request = {"holder": kernel.pid, "uid": uid, "limits": limits.rlimits(),
               "cgroups": [str(f / "cgroup.procs") for f in group.folders] if group else [],
               "env": _kernel_env(), "cwd": bwrap.HOME,
               "argv": ["-f", bwrap.CONNECTION, "--HistoryManager.enabled=False"]}
    try:
        template.spawn(request, log, hold, report_end)
    finally:
        os.close(log)
        os.close(report_end)
    try:
        answer = _Pipes.read_fd(report, timeout=30)
    finally:
        os.close(report)
    if not isinstance(answer, dict) or not isinstance(answer.get("kernel"), int):
        why = answer.get("error") if isinstance(answer, dict) else "no answer"
        raise SandboxError(f"the kernel could not be forked into its sandbox: {why}")
    return answer["kernel"]


def _view(inbox, uid, limits, pipes, connection):
    """The kernel's :class:`~autograder.sandbox.bwrap.View`, with its small files passed by pipe."""
    user, group = (uid, uid) if uid is not None else (os.getuid(), os.getgid())
    fds = {"connection": pipes.data(json.dumps(connection)),
           "passwd": pipes.data(f"student:x:{user}:{group}:student:{bwrap.HOME}:/bin/sh\n"),
           "group": pipes.data(f"student:x:{group}:\n"),
           "info": pipes.output("info")}
    return bwrap.View(readonly=tuple(_python_paths()), inbox=str(inbox), wrapper=str(_WRAPPER),
                      disk=limits.disk, network=limits.network, user_namespace=uid is None,
                      fds=fds)


def _let_in(kernel, pipes, group):
    """Wait for bubblewrap's init, put it in its control group, let the wrapper run and read
    what it achieved; return the init's pid and that status."""
    info = pipes.read_json("info", timeout=30)
    if info is None:
        raise SandboxError(f"bubblewrap could not start the kernel sandbox "
                           f"({_exit_of(kernel.popen)}): {kernel.stderr_tail()}")
    init = int(info["child-pid"])
    if group is not None:
        try:
            for pid in (kernel.popen.pid, init):
                group.add(pid)
        except OSError as exc:
            raise SandboxError(f"could not put the kernel in its control group: {exc}") from None
    pipes.release("block")
    status = pipes.read_json("status", timeout=30)
    if status is None:
        raise SandboxError(f"the kernel sandbox could not start ({_exit_of(kernel.popen)}): "
                           f"{kernel.stderr_tail()}")
    kernel.pid = _only_child(init)
    return init, status


def _bwrap_record(version, status, uid, limits, group):
    """The ``sandbox`` record of a result: what this kernel's isolation was."""
    namespaces = ["pid", "ipc", "uts", "mount"] + ([] if limits.network else ["network"]) + (
        ["user"] if uid is None else [])
    return {"bubblewrap": version, **status, "namespaces": ", ".join(namespaces),
            "network": "allowed" if limits.network else "none (private namespace)",
            "filesystem": "interpreter read-only; private tmpfs home and /tmp",
            "resources": group.describe() if group else
            "per process only (no control group without root)"}


def _only_child(pid):
    """The one child of bubblewrap's init: the kernel (the wrapper exec'd into it)."""
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        children = []
    if len(children) != 1:
        raise SandboxError(f"the kernel sandbox's init has {len(children)} children, not 1")
    return children[0].pid


def _start_plain(workspace, inbox, log, uid, limits):
    """The fallback: a plain process with limits, a private folder and (as root) its own uid."""
    home = workspace.new_folder()
    key = secrets.token_hex(16)
    connection = _connection(str(home / ".k"), key)
    connection_file = workspace.new_folder(0o711) / "kernel.json"
    connection_file.write_text(json.dumps(connection))
    connection_file.chmod(0o644)
    if uid is not None:  # the folder is still root's and empty but for what root put there
        _check_reachable(home, uid)
        os.chown(home, uid, uid)
    pipes = _Pipes()
    status_fd = pipes.output("status")
    config = {"network": not limits.network, "limits": limits.rlimits(), "uid": uid,
              "cwd": str(home), "status_fd": status_fd, "expose": _python_paths(),
              "isolate": True}
    command = [sys.executable, "-I", "-S", str(_WRAPPER), json.dumps(config), "--",
               sys.executable, "-m", "ipykernel_launcher", "-f", str(connection_file),
               "--HistoryManager.enabled=False"]
    env = host_env(home)
    with open(log, "wb") as stderr:
        popen = subprocess.Popen(command, env=env, cwd=home, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=stderr,
                                 pass_fds=pipes.child_fds(), close_fds=True)
    pipes.close_child_ends()
    kernel = KernelProcess(popen, popen.pid, inbox, str(inbox), connection, uid, {}, log, home)
    status = pipes.read_json("status", timeout=30)
    pipes.close_all()
    if status is None:
        kernel.remove(keep_inbox=True)
        raise SandboxError(f"the kernel sandbox could not start ({_exit_of(popen)}): "
                           f"{kernel.stderr_tail()}")
    kernel.status = {**status, "filesystem": "host file system (no mount namespace)",
                     "resources": "per process only"}
    return kernel


class _Pipes:
    """Pipes between the grader and bubblewrap or the wrapper: data in, small JSON out."""

    def __init__(self):
        self._child, self._mine = [], {}

    def data(self, text):
        """A pipe already holding ``text``; returns the end the child reads."""
        read_end, write_end = os.pipe()
        os.write(write_end, text.encode())
        os.close(write_end)
        self._child.append(read_end)
        return read_end

    def output(self, name, reverse=False):
        """A pipe the child writes to (or, ``reverse``, reads from); returns the child's end."""
        read_end, write_end = os.pipe()
        child, mine = (read_end, write_end) if reverse else (write_end, read_end)
        self._child.append(child)
        self._mine[name] = mine
        return child

    def child_fds(self):
        return tuple(self._child)

    def close_child_ends(self):
        for fd in self._child:
            os.close(fd)
        self._child = []

    def mine(self, name):
        """The grader's end of pipe ``name``."""
        return self._mine[name]

    def read_json(self, name, timeout):
        """Read one JSON value from pipe ``name``; None at end of file or after ``timeout``."""
        return self.read_fd(self._mine[name], timeout)

    @staticmethod
    def read_fd(fd, timeout):
        """Read one JSON value from ``fd``; None at end of file or after ``timeout``."""
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
            try:
                return json.loads(data)
            except ValueError:
                continue
        return None

    def release(self, name):
        """Write one byte to pipe ``name`` (bubblewrap's ``--block-fd`` then goes on)."""
        os.write(self._mine[name], b"1")

    def close_all(self):
        for fd in self._mine.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._mine = {}


def _connection(prefix, key):
    return {"transport": "ipc", "ip": prefix, "shell_port": 1, "iopub_port": 2,
            "stdin_port": 3, "control_port": 4, "hb_port": 5, "key": key,
            "signature_scheme": "hmac-sha256", "kernel_name": ""}


def _kernel_env():
    venv_bin = os.path.dirname(sys.executable)
    return {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": bwrap.HOME,
            "TMPDIR": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "student",
            "LOGNAME": "student", "IPYTHONDIR": f"{bwrap.HOME}/.ipython",
            "MPLCONFIGDIR": f"{bwrap.HOME}/.config/matplotlib",
            "JUPYTER_RUNTIME_DIR": f"{bwrap.HOME}/.jupyter", "JUPYTER_PLATFORM_DIRS": "1",
            "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def host_env(home):
    """A kernel's environment with its per-user folders under ``home``, a private folder on
    the host (the fallback's kernel, and a kernel template, which has no sandbox of its own)."""
    return {**_kernel_env(), "HOME": str(home), "TMPDIR": str(home),
            "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".matplotlib"),
            "JUPYTER_RUNTIME_DIR": str(home / ".jupyter")}


def _env_arguments():
    args = []
    for name, value in _kernel_env().items():
        args += ["--setenv", name, value]
    return args


def _python_paths():
    """Directories a kernel needs to read: the interpreter, its stdlib and site-packages."""
    import site
    import sysconfig
    paths = {os.path.dirname(os.path.realpath(sys.executable)), os.path.realpath(sys.prefix),
             os.path.realpath(sys.base_prefix), sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"], *map(os.path.realpath, site.getsitepackages())}
    if sys.prefix != sys.base_prefix:  # a venv: its bin folder holds the `python` symlink
        paths.add(os.path.join(sys.prefix, "bin"))
        paths.add(os.path.join(sys.prefix, "pyvenv.cfg"))
    paths.update(_editable_packages())
    found = sorted(p for p in paths if os.path.exists(p))
    # Keep only the outermost of nested paths: binding a parent already shows the child.
    return [p for p in found if not any(p != q and p.startswith(q + os.sep) for q in found)]


def _editable_packages():
    """Folders of packages installed in editable mode (PEP 660, setuptools' finder files).

    Only each package's own folder is shown, never the checkout around it (which may hold
    exercise sources with hidden tests). Packages added with a ``.pth`` path are not shown.
    """
    import ast
    import site
    folders = set()
    for directory in site.getsitepackages():
        for finder in Path(directory).glob("__editable__*_finder.py"):
            try:
                tree = ast.parse(finder.read_text())
            except (OSError, SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                target = getattr(node, "target", None) or (getattr(node, "targets", None)
                                                            or [None])[0]
                if getattr(target, "id", None) == "MAPPING" and node.value is not None:
                    try:
                        mapping = ast.literal_eval(node.value)
                    except ValueError:
                        continue
                    folders.update(os.path.realpath(v) for v in mapping.values())
    return folders


def _check_reachable(home, uid):
    """Refuse, with the fix, a home the kernel's uid could not enter (a private TMPDIR)."""
    for parent in home.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise SandboxError(
                f"a kernel running as uid {uid} cannot reach its folder {home}: {parent} is "
                f"not searchable by other users (mode {stat.S_IMODE(mode):o}); set TMPDIR to a "
                "folder all users can enter, such as /tmp, or install bubblewrap")


def _exit_of(popen):
    try:
        popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return "still running"
    return f"exit code {popen.returncode}"


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def kill_uid(uid):
    """Kill every process of ``uid``, including a process whose main thread has exited while
    other threads run (it looks like a zombie); true zombies are only waited for by their
    parent and hold nothing."""
    for _ in range(5):
        victims = []
        for process in psutil.process_iter(["uids", "status"]):
            uids = process.info["uids"]
            if uids is None or uid not in (uids.real, uids.effective, uids.saved):
                continue
            if process.info["status"] == psutil.STATUS_ZOMBIE and _threads(process) <= 1:
                continue
            victims.append(process)
        if not victims:
            return
        for process in victims:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(victims, timeout=1)


def _threads(process):
    try:
        return len(os.listdir(f"/proc/{process.pid}/task"))
    except OSError:
        return 0
