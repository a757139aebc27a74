"""Last steps into the sandbox, then exec the kernel: ``python -I -S _exec.py CONFIG -- CMD``.

Standard library only, no site packages: it runs before the kernel, possibly as root. Inside
bubblewrap (which has already made the namespaces and the file system view) it gives the
kernel's private tmpfs mounts to the sandbox uid, sets the resource limits, drops from root to
that uid, reports what was achieved on a pipe and execs the kernel; or, when the kernel is
forked into the sandbox from a template (``"hold_fd"``), holds the sandbox open until it ends.

In the fallback without bubblewrap (``"isolate": true``) it also starts a new session and a
private network namespace (when allowed) and, when Python lives under a directory the
unprivileged uid cannot enter (e.g. a pyenv under ``/root``), a private mount namespace that
hides that directory behind an empty tmpfs and bind-mounts back, read-only, only the paths the
kernel needs (``expose``).
"""

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
PR_SET_NO_NEW_PRIVS = 38
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
LIMITS = {"memory": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU,
          "file_size": resource.RLIMIT_FSIZE, "processes": resource.RLIMIT_NPROC,
          "open_files": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}


def isolate_network():
    """Return how the network was cut off: 'namespace', 'user+namespace' or why it was not."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError as exc:
        return f"not isolated: {exc}"
    if libc.unshare(CLONE_NEWNET) == 0:
        return "namespace"
    error = os.strerror(ctypes.get_errno())
    if os.geteuid() != 0 and libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "user+namespace"
    return f"not isolated: unshare(CLONE_NEWNET) failed: {error}"


def blocked_ancestor(path, uid):
    """The top-most ancestor of ``path`` that ``uid`` cannot traverse, or None."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    for i in range(1, len(parts)):
        ancestor = os.sep + os.sep.join(parts[:i])
        info = os.stat(ancestor)
        if info.st_uid != uid and not info.st_mode & 0o001:
            return ancestor
    return None


def expose_paths(paths, uid):
    """Make ``paths`` reachable for ``uid`` (see module docstring); return what was done."""
    blocked = {}
    for path in paths:
        top = blocked_ancestor(path, uid)
        if top:
            blocked.setdefault(top, []).append(path)
    if not blocked:
        return "not needed"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0 or libc.mount(None, b"/", None, MS_REC | MS_PRIVATE,
                                                     None) != 0:
        raise OSError(ctypes.get_errno(), "cannot make a private mount namespace")
    for top, inside in blocked.items():
        handles = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in inside]
        _mount(libc, b"tmpfs", top, b"tmpfs", 0, b"mode=0755")
        for path, handle in handles:
            os.makedirs(path, exist_ok=True)
            _mount(libc, f"/proc/self/fd/{handle}".encode(), path, None, MS_BIND | MS_REC)
            _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC)
            os.close(handle)
    return "hid " + ", ".join(sorted(blocked))


def _mount(libc, source, target, fstype, flags, data=None):
    if libc.mount(source, target.encode(), fstype, flags, data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount on {target} failed: {os.strerror(error)}")


def apply_limits(limits):
    """Set each resource limit (soft and hard) that is given."""
    for name, value in limits.items():
        if value is not None:
            resource.setrlimit(LIMITS[name], (int(value), int(value)))


def no_new_privileges():
    """Make sure no program run later gains privileges (set-uid binaries, file capabilities)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


def drop_privileges(uid, gid):
    """Become ``uid``/``gid`` with no supplementary groups (only when running as root)."""
    no_new_privileges()
    if uid is None or os.geteuid() != 0:
        return "unchanged"
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    return f"uid {uid}"


def hold(fd):
    """Keep the sandbox open for a kernel forked into it from outside (see
    ``autograder.sandbox.template``); when its parent says how it ended, end the same way."""
    data = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    try:
        ended = json.loads(data)
    except ValueError:
        ended = {"code": 1}  # the kernel's parent vanished: the template was killed
    number = ended.get("signal") if isinstance(ended, dict) else None
    if isinstance(number, int) and 0 < number < signal.NSIG:
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    code = ended.get("code", 1) if isinstance(ended, dict) else 1
    os._exit(code & 0xFF if isinstance(code, int) else 1)


def main(argv):
    config = json.loads(argv[1])
    command = argv[argv.index("--") + 1:]
    isolate = config.get("isolate", False)
    if isolate:
        os.setsid()
    status = {"network": isolate_network() if isolate and config["network"] else None}
    uid = config.get("uid") if os.geteuid() == 0 else None
    if uid is not None:
        for path in config.get("own", []):
            os.chown(path, uid, uid)
        if isolate:
            try:
                status["mounts"] = expose_paths(config["expose"], uid)
            except OSError as exc:
                status["mounts"] = f"failed: {exc}"
                uid = None
    apply_limits(config["limits"])
    status["user"] = drop_privileges(uid, uid)
    if not isolate:
        status["user"] += " (own user namespace)" if uid is None else ""
    os.chdir(config["cwd"])
    os.umask(0o077)
    with os.fdopen(config["status_fd"], "w") as pipe:
        pipe.write(json.dumps({k: v for k, v in status.items() if v is not None}))
    if config.get("hold_fd") is not None:
        hold(config["hold_fd"])
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
