"""Start kernels in a sandbox: own process, private directory, limits, no network, other uid.

Each kernel gets a fresh private directory (mode 0700, owned by the kernel's uid) that holds
only its submission's files, its connection file and its ZeroMQ ``ipc`` sockets: unix sockets
work across the kernel's private network namespace, where TCP on the host's loopback would not.
When the grader runs as root the kernel runs as an unprivileged uid (one per worker slot) that
cannot read the grading bundle or the results.
"""

import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .exceptions import SandboxError

__all__ = ["Limits", "Workspace", "KernelProcess", "UidLease"]

GIB = 1024 ** 3
_WRAPPER = Path(__file__).with_name("_sandbox_exec.py")


@dataclass(frozen=True)
class Limits:
    """Limits applied to every kernel.

    Attributes
    ----------
    memory : int, default=2 GiB
        Address-space limit (RLIMIT_AS) in bytes.
    cpu_seconds : int, default=900
        CPU time limit (RLIMIT_CPU) of the kernel process.
    file_size : int, default=256 MiB
        Largest file the kernel may write (RLIMIT_FSIZE).
    processes : int, default=256
        Processes and threads of the kernel's uid (RLIMIT_NPROC; only with a separate uid).
    open_files : int, default=1024
        Open file descriptors (RLIMIT_NOFILE).
    network : bool, default=False
        Allow network access (otherwise a private network namespace is used where possible).
    uid_base : int, default=61000
        When running as root, kernels run as unprivileged uids leased from ``uid_base``
        upwards (two per worker; see :class:`UidLease`).
    """

    memory: int = 2 * GIB
    cpu_seconds: int = 900
    file_size: int = 256 * 1024 ** 2
    processes: int = 256
    open_files: int = 1024
    network: bool = False
    uid_base: int = 61000

    def rlimits(self, separate_uid):
        """The limits as the sandbox wrapper takes them."""
        return {"memory": self.memory, "cpu": self.cpu_seconds, "file_size": self.file_size,
                "processes": self.processes if separate_uid else None,
                "open_files": self.open_files, "core": 0}


class UidLease:
    """Exclusive use of unprivileged uids, shared safely between concurrent grader processes.

    Each uid in ``base .. base + span`` has a lock file in a root-only folder; holding its
    ``flock`` means no other grader uses that uid (the lock dies with the process). Processes
    left over under a newly leased uid (from a grader that crashed) are killed.

    Parameters
    ----------
    base : int
        First uid of the range.
    count : int
        How many uids to lease.
    span : int, default=1000
        Size of the range searched.
    """

    def __init__(self, base, count, span=1000):
        folder = Path(tempfile.gettempdir()) / f"autograder-uids-{os.geteuid()}"
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if info.st_uid != os.geteuid() or info.st_mode & 0o077 or folder.is_symlink():
            raise SandboxError(f"{folder} is not a private folder of this user; remove it")
        self.uids, self._handles = [], []
        for uid in range(base, base + span):
            if len(self.uids) == count:
                break
            handle = os.open(folder / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            _kill_uid(uid)
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
    """A root directory (mode 0711) for the private directories of one grading run."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.root.chmod(0o711)

    def private_dir(self, uid):
        """Create a fresh private directory, mode 0700, owned by ``uid`` (if given)."""
        path = self.root / secrets.token_hex(8)
        path.mkdir(mode=0o700)
        if uid is not None:
            os.chown(path, uid, uid)
        return path

    def cleanup(self):
        """Remove everything (symlinks planted by kernels are removed, never followed)."""
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class KernelProcess:
    """A kernel started inside the sandbox.

    Attributes
    ----------
    popen : subprocess.Popen
        The kernel process (the wrapper execs into it, so this is the kernel's pid).
    directory : Path
        Its private working directory.
    connection : dict
        Connection info for a client (ipc transport).
    uid : int or None
        The uid it runs as, when dropped from root.
    status : dict
        What the sandbox achieved: ``network`` and ``user`` entries.
    """

    popen: subprocess.Popen
    directory: Path
    connection: dict
    uid: int = None
    status: dict = field(default_factory=dict)
    log: Path = None

    @classmethod
    def launch(cls, workspace, *, uid=None, limits=Limits(), directory=None):
        """Start a kernel without waiting for it to be ready.

        Parameters
        ----------
        workspace : Workspace
            Where its private directory is made.
        directory : Path, optional
            Reuse this private directory (when restarting a crashed kernel).
        uid : int, optional
            Unprivileged uid to run as (only honoured when running as root).
        limits : Limits
            Resource limits.

        Raises
        ------
        SandboxError
            If the sandbox could not be entered (the message includes the kernel's stderr).
        """
        uid = uid if os.geteuid() == 0 else None
        directory = directory or workspace.private_dir(uid)
        connection = _write_connection(directory, uid)
        log = workspace.root / f"{directory.name}-{secrets.token_hex(4)}.log"
        read_end, write_end = os.pipe()
        config = {"network": not limits.network, "limits": limits.rlimits(uid is not None),
                  "uid": uid, "cwd": str(directory), "status_fd": write_end,
                  "expose": _python_paths()}
        command = [sys.executable, "-I", "-S", str(_WRAPPER), json.dumps(config), "--",
                   sys.executable, "-m", "ipykernel_launcher", "-f",
                   str(directory / "kernel.json"), "--HistoryManager.enabled=False"]
        with open(log, "wb") as stderr:
            popen = subprocess.Popen(command, env=_kernel_env(directory), cwd=directory,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=stderr, pass_fds=(write_end,), close_fds=True)
        os.close(write_end)
        kernel = cls(popen, directory, connection, uid, {}, log)
        kernel.status = kernel._read_status(read_end)
        return kernel

    def _read_status(self, read_end):
        with os.fdopen(read_end) as pipe:
            text = pipe.read()
        try:
            return json.loads(text)
        except ValueError:
            self.popen.wait(timeout=10)
            raise SandboxError(f"the kernel sandbox could not start (exit code "
                               f"{self.popen.returncode}): {self.stderr_tail()}") from None

    def stderr_tail(self, size=2000):
        """The last ``size`` characters the kernel wrote to stderr."""
        try:
            with open(self.log, "rb") as handle:
                handle.seek(max(0, self.log.stat().st_size - size))
                return handle.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

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
            self.popen.send_signal(signal.SIGINT)

    def exit_description(self):
        """How the kernel ended, e.g. ``"exit code 3"`` or ``"killed by signal SIGKILL"``."""
        code = self.popen.poll()
        if code is None:
            return "still running"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def kill(self):
        """Kill the kernel, its process group and (with a separate uid) all that uid's processes."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.uid is not None:
            _kill_uid(self.uid)

    def remove(self):
        """Kill the kernel and delete its private directory and log."""
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
        self.log.unlink(missing_ok=True)


def _write_connection(directory, uid):
    connection = {"transport": "ipc", "ip": str(directory / "k"), "shell_port": 1,
                  "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
                  "key": secrets.token_hex(16), "signature_scheme": "hmac-sha256",
                  "kernel_name": ""}
    path = directory / "kernel.json"
    path.write_text(json.dumps(connection))
    if uid is not None:
        os.chown(path, uid, uid)
    return connection


def _kernel_env(directory):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(directory),
           "TMPDIR": str(directory), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "IPYTHONDIR": str(directory / ".ipython"),
           "MPLCONFIGDIR": str(directory / ".config" / "matplotlib"),
           "JUPYTER_RUNTIME_DIR": str(directory / ".jupyter"), "JUPYTER_PLATFORM_DIRS": "1",
           "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _python_paths():
    """Directories a kernel needs to read: the interpreter, its stdlib and site-packages."""
    import site
    import sysconfig
    paths = {os.path.dirname(os.path.realpath(sys.executable)), os.path.realpath(sys.prefix),
             os.path.realpath(sys.base_prefix), sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"], *map(os.path.realpath, site.getsitepackages())}
    return sorted(p for p in paths if os.path.isdir(p))


def _kill_uid(uid):
    """Kill every live process of ``uid`` (escaped daemons included); zombies are left."""
    for _ in range(3):
        victims = [p for p in psutil.process_iter(["uids", "status"])
                   if p.info["uids"] is not None and p.info["uids"].real == uid
                   and p.info["status"] != psutil.STATUS_ZOMBIE]
        if not victims:
            return
        for process in victims:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(victims, timeout=1)
