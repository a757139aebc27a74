"""Kernels forked from a template that has already imported the assignment's libraries.

Starting a kernel and importing NumPy, pandas and scikit-learn takes about two seconds, the
same two seconds for every submission. A :class:`Template` is a process, started by exec like
any kernel, that imports ipykernel and the modules the assignment's reference solution imports
(installed packages only), and then waits. For each submission:

1. bubblewrap builds the sandbox exactly as for an exec'd kernel (every namespace, the file
   system view, the private tmpfs mounts, the control group), and the sandbox wrapper inside
   it takes the same steps, then holds the sandbox open instead of exec'ing a kernel;
2. the template forks. The child joins that sandbox's control group and namespaces (user
   namespaces first, without root), changes root into its file system view and forks the
   kernel, which starts inside the sandbox's PID namespace;
3. before any student code exists, the kernel starts a new session, takes the kernel's
   environment, drops every capability (and, as root, becomes the sandbox uid), sets the
   resource limits and ``no_new_privs``, closes every other file and starts ipykernel;
4. when the kernel ends, its parent tells the sandbox wrapper how, and the wrapper ends the
   same way, so bubblewrap's init ends and the operating system kills every process left in
   the namespace, as with an exec'd kernel.

So the kernel's isolation is the sandbox's, and its ``sandbox`` record says the same. What it
shares with the other kernels is only read-only: the template's pages, copy-on-write, from
before any submission existed. The template never sees a bundle or a submission.

Linux only; :class:`Template` raises :class:`~autograder.exceptions.SandboxError` where it
cannot work, and the caller then starts kernels by exec.
"""

import ast
import ctypes
import fcntl
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

from . import _exec
from ..exceptions import SandboxError

__all__ = ["Template", "reference_imports"]

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID = 0x08000000, 0x10000000, 0x20000000
CLONE_NEWNET = 0x40000000
NS_GET_PARENT = 0xB702
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 47, 4
PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 38, 36
# Joined in this order after the user namespace that owns them; the mount namespace last,
# since it changes what /proc shows.
NAMESPACES = (("cgroup", CLONE_NEWCGROUP), ("ipc", CLONE_NEWIPC), ("uts", CLONE_NEWUTS),
              ("net", CLONE_NEWNET), ("pid", CLONE_NEWPID), ("mnt", CLONE_NEWNS))
# Packages that fix per-user folders (configuration, caches) when imported: imported in the
# template they would keep the template's folders, so each kernel imports them itself.
# Packages that start threads when imported cannot be forked safely, and are left out too.
NOT_PRELOADED = frozenset({"matplotlib", "seaborn", "plotly", "tkinter", "torch",
                           "tensorflow", "jax"})
BASE = ("ipykernel.kernelapp", "ipykernel.ipkernel", "IPython.core.interactiveshell")
MAX_REQUEST = 65536


def reference_imports(notebook):
    """Absolute module names the code cells of ``notebook`` (nbformat 4 dict) import.

    ``import a.b`` gives ``a.b``; ``from a.b import c`` gives ``a.b``. Cells that do not parse
    and relative imports are skipped; packages in :data:`NOT_PRELOADED` are left out.
    """
    found = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            tree = ast.parse("\n".join(line for line in source.splitlines()
                                       if not line.lstrip().startswith(("%", "!"))))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [n for n in names if n.split(".")[0] not in NOT_PRELOADED]
    return tuple(dict.fromkeys(found))


class Template:
    """A pre-imported process that forks kernels into sandboxes bubblewrap has built.

    Parameters
    ----------
    modules : iterable of str
        Modules to import besides ipykernel (those that fail to import are skipped, and the
        kernel imports them itself, failing the same way a fresh kernel would).
    env : dict
        The template's environment: a kernel's, with its per-user folders in ``cwd``
        (:func:`~autograder.sandbox.launch.host_env`); each kernel gets its own.
    cwd : Path
        An empty private folder to run in.

    Raises
    ------
    SandboxError
        If the template did not start, or cannot fork kernels safely here (it has threads).
    """

    def __init__(self, modules, env, cwd):
        self._lock = threading.Lock()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._socket = mine
        self.log = os.path.join(cwd, "template.log")  # a file: a full pipe would block it
        with theirs, open(self.log, "wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "autograder.sandbox.template", str(theirs.fileno()),
                 json.dumps(list(modules))], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=log, pass_fds=(theirs.fileno(),),
                close_fds=True, start_new_session=True)
        try:
            self._socket.settimeout(120)
            ready = json.loads(self._socket.recv(MAX_REQUEST) or b"null")
        except (OSError, ValueError):
            ready = None
        if not isinstance(ready, dict) or ready.get("error"):
            self.close()
            why = ready.get("error") if isinstance(ready, dict) else self._stderr()
            raise SandboxError(f"the kernel template did not start: {why}")
        self._socket.settimeout(30)
        self.modules, self.seconds = ready["modules"], ready["seconds"]

    def _stderr(self):
        try:
            self.popen.wait(timeout=5)
            with open(self.log, "rb") as handle:
                return handle.read()[-2000:].decode("utf-8", "replace").strip() or "no answer"
        except (OSError, subprocess.TimeoutExpired):
            return "no answer"

    @property
    def alive(self):
        return self.popen.poll() is None

    def spawn(self, request, log_fd, hold_fd, report_fd):
        """Fork a kernel into the sandbox ``request`` describes (see :func:`_enter`).

        ``log_fd`` becomes its stderr; ``hold_fd`` is the pipe to the sandbox wrapper;
        ``report_fd`` receives ``{"kernel": pid}`` or ``{"error": why}``.
        """
        data = json.dumps(request).encode()
        with self._lock:
            try:
                socket.send_fds(self._socket, [data], [log_fd, hold_fd, report_fd])
            except OSError as exc:
                raise SandboxError(f"the kernel template is gone ({exc})") from None

    def close(self):
        """Stop the template (kernels it forked live on in their sandboxes until killed)."""
        self._socket.close()
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()


# ---------------------------------------------------------------- inside the template ----

def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _preload(modules):
    import importlib
    loaded = []
    for name in (*BASE, *modules):
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - the kernel will import it and report the error
            continue
    return loaded


def serve(channel, modules):
    """The template's main loop: import, say ready, fork a kernel for each request."""
    libc = _libc()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; IPython adds the kernel's own back
    sys.dont_write_bytecode = True
    start = time.monotonic()
    loaded = _preload(modules)
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        channel.send(json.dumps({"error": f"it has {threads} threads after importing "
                                          f"{', '.join(loaded)}; forking it is unsafe"}).encode())
        return
    # Children are reaped by the system; so is a kernel whose parent was killed before it
    # (the grader removes the kernel's control group with both in it), since it is then
    # handed to the template rather than to the machine's init.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    channel.send(json.dumps({"modules": loaded,
                             "seconds": round(time.monotonic() - start, 3)}).encode())
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(channel, MAX_REQUEST, 3)
        except OSError:
            return
        if not data:
            return
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        if os.fork() == 0:
            channel.close()
            _child(json.loads(data), *fds)  # never returns
        for fd in fds:
            os.close(fd)


def _child(request, log_fd, hold_fd, report_fd):
    """Join the sandbox, fork the kernel into it, wait for it and tell the wrapper how it
    ended. Runs in a fork of the template; never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        _enter(request)
        pid = os.fork()
    except BaseException as exc:  # noqa: BLE001 - reported to the grader, then exit
        _write(report_fd, {"error": f"{type(exc).__name__}: {exc}"})
        os._exit(1)
    if pid == 0:
        os.close(report_fd)
        os.close(hold_fd)
        _kernel(request, log_fd)
    os.close(log_fd)
    _write(report_fd, {"kernel": pid})
    os.close(report_fd)
    _, status = os.waitpid(pid, 0)
    ended = ({"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status)
             else {"code": os.waitstatus_to_exitcode(status)})
    try:
        _write(hold_fd, ended)
    except OSError:
        pass  # the sandbox is already gone
    os._exit(0)


def _write(fd, value):
    os.write(fd, json.dumps(value).encode())


def _enter(request):
    """Join the control group, namespaces and root of the sandbox whose wrapper is
    ``request["holder"]`` (a pid in this process's namespace)."""
    for procs in request.get("cgroups", []):
        with open(procs, "w") as handle:
            handle.write(str(os.getpid()))
    libc = _libc()
    holder = request["holder"]
    handles = {name: os.open(f"/proc/{holder}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
               for name, _ in NAMESPACES}
    root = os.open(f"/proc/{holder}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    chain = _user_chain(holder)
    try:
        if chain:
            _check(libc.setns(chain[0], CLONE_NEWUSER), "joining the sandbox's user namespace")
        for name, flag in NAMESPACES:
            if not _same(handles[name], f"/proc/self/ns/{name}"):
                _check(libc.setns(handles[name], flag), f"joining the sandbox's {name} "
                                                        "namespace")
        os.fchdir(root)
        os.chroot(".")
        for fd in chain[1:]:
            _check(libc.setns(fd, CLONE_NEWUSER), "joining the sandbox's user namespace")
    finally:
        for fd in (*handles.values(), root, *chain):
            os.close(fd)


def _same(fd, path):
    info = os.fstat(fd)
    mine = os.stat(path)
    return (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino)


def _user_chain(holder):
    """File descriptors of the user namespaces from ours (excluded) down to the holder's,
    outermost first; empty when the holder is in ours (root: no user namespace)."""
    fd = os.open(f"/proc/{holder}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    chain = []
    while not _same(fd, "/proc/self/ns/user"):
        chain.insert(0, fd)
        try:
            fd = fcntl.ioctl(fd, NS_GET_PARENT)
        except OSError:
            for handle in chain:
                os.close(handle)
            raise
    os.close(fd)
    return chain


def _kernel(request, log_fd):
    """Become the sandboxed kernel (in the sandbox's PID namespace); never returns."""
    try:
        os.setsid()
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(log_fd, 2)
        os.closerange(3, 1 << 20)
        os.environ.clear()
        os.environ.update(request["env"], PWD=request["cwd"])
        os.chdir(request["cwd"])
        _drop(request)
        os.umask(0o077)
        _reseed()
    except BaseException as exc:  # noqa: BLE001 - the grader sees this in the kernel's log
        os.write(2, f"the kernel could not enter its sandbox: {exc}\n".encode())
        os._exit(70)
    sys.argv = ["ipykernel_launcher", *request["argv"]]
    from ipykernel import kernelapp
    try:
        kernelapp.launch_new_instance(argv=request["argv"])
    finally:
        os._exit(0)


def _drop(request):
    """Resource limits, no new privileges, no capabilities and (as root) the sandbox uid."""
    _exec.apply_limits(request["limits"])
    libc = _libc()
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails only for caps already dropped
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    uid = request.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _clear_capabilities(libc)
    if resource.getrlimit(resource.RLIMIT_CORE)[1] != 0:
        raise OSError("resource limits were not applied")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _clear_capabilities(libc):
    """Empty the effective, permitted and inheritable sets (joining a user namespace gives a
    process every capability in it)."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")
    _check(libc.capget(ctypes.byref(header), data), "capget")
    if any(d.effective or d.permitted or d.inheritable for d in data):
        raise OSError("capabilities are still held")


def _reseed():
    """Give each kernel its own random state (the template's was copied into every fork)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), json.loads(sys.argv[2]))
