"""The kernel's view of the machine, as bubblewrap (``bwrap``) command-line arguments.

bubblewrap, the sandbox under Flatpak, builds a process's whole view from its flags: which host
paths are bound read-only, which places are private, size-capped tmpfs mounts, which namespaces
are new. :func:`bwrap_arguments` turns a :class:`View` into that list, so what a kernel can see
is written in one place and can be tested without running anything.

Inside the sandbox a kernel sees:

- the interpreter and its libraries, read-only, at their host paths (nothing else of the host's
  file system: not the checkout, the bundle, the results or other submissions);
- ``/home/student`` (its working directory and ``HOME``), ``/tmp``, ``/var/tmp`` and
  ``/dev/shm``: fresh tmpfs mounts of limited size, gone when the kernel ends;
- ``/run/submission``: the submission's data files, read-only;
- ``/run/kernel``: a small tmpfs for its ZeroMQ sockets, reached by the grader through
  ``/proc/<pid>/root``;
- a private ``/proc`` (its own processes only), a minimal ``/dev``, and new PID, IPC, UTS,
  network (loopback only) and, without root, user namespaces. bubblewrap's own init is PID 1
  and the kernel its child: when the kernel ends, init ends and the kernel of the operating
  system kills every process left in the namespace. (A kernel forked from a template, see
  :mod:`autograder.sandbox.template`, joins these namespaces instead; the wrapper, init's
  child, ends when it does.)
"""

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import PurePosixPath

__all__ = ["View", "bwrap_arguments", "find_bwrap", "HOME", "INBOX", "SOCKETS", "WRAPPER"]

HOME = "/home/student"
INBOX = "/run/submission"
SOCKETS = "/run/kernel"
WRAPPER = "/run/autograder/sandbox_exec.py"
CONNECTION = "/run/autograder/kernel.json"
PRIVATE_TMPFS = ("/tmp", "/var/tmp", "/dev/shm")
# Top-level host paths that are (on merged-/usr systems) symlinks into /usr, or small system
# folders a Python process needs; each is mirrored only if it exists.
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/alternatives", "/etc/fonts", "/usr")


@dataclass(frozen=True)
class View:
    """What one kernel may see and do.

    Attributes
    ----------
    readonly : tuple of str
        Host paths bound read-only at the same path (the interpreter, its libraries).
    inbox : str
        Host folder bound read-only at :data:`INBOX`.
    wrapper : str
        Host path of the sandbox wrapper script, bound read-only at :data:`WRAPPER`.
    disk : int
        Size in bytes of each private tmpfs (home, ``/tmp``, ``/var/tmp``, ``/dev/shm``).
    network : bool, default=False
        Keep the host's network (otherwise a new namespace with only loopback).
    user_namespace : bool, default=True
        Create a user namespace (needed without root; as root the wrapper drops to a leased
        uid instead, and capabilities beyond changing uid are dropped).
    fds : dict
        File descriptors passed to bwrap: ``connection``, ``passwd``, ``group`` (contents of
        files it creates) and ``info`` (where it writes the sandbox's pid).
    """

    readonly: tuple
    inbox: str
    wrapper: str
    disk: int
    network: bool = False
    user_namespace: bool = True
    fds: dict = field(default_factory=dict)


def bwrap_arguments(view):
    """The ``bwrap`` arguments (without the program name and the command) for ``view``."""
    args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if not view.network:
        args.append("--unshare-net")
    if view.user_namespace:
        args += ["--unshare-user", "--disable-userns"]
    else:  # root: keep only what the wrapper needs to become the sandbox uid
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                 "--cap-add", "CAP_CHOWN"]
    # Private mounts first, then the read-only binds, so that an interpreter or checkout
    # under /tmp or /home stays visible on top of the private tmpfs there.
    private = _system_view() + ["--proc", "/proc", "--dev", "/dev"]
    for path in (HOME, *PRIVATE_TMPFS):
        private += ["--perms", "0700" if path == HOME else "1777", "--size", str(view.disk),
                    "--tmpfs", path]
    private += ["--perms", "0700", "--size", str(1024 ** 2), "--tmpfs", SOCKETS]
    shown = [arg for path in view.readonly for arg in ("--ro-bind", path, path)]
    shown += ["--ro-bind", view.inbox, INBOX, "--ro-bind", view.wrapper, WRAPPER]
    shown += _data_files(view.fds)
    made = _parents(private)
    return (args + made + private + _parents(shown, skip=_targets(private + made)) + shown
            + ["--remount-ro", "/", "--chdir", HOME, "--clearenv"])


# How many arguments each flag takes, and which of them (if any) is a path it creates.
_ARGUMENTS = {"--ro-bind": (2, 1), "--bind": (2, 1), "--symlink": (2, 1),
              "--ro-bind-data": (2, 1), "--tmpfs": (1, 0), "--proc": (1, 0), "--dev": (1, 0),
              "--dir": (1, 0), "--perms": (1, None), "--size": (1, None),
              "--info-fd": (1, None)}


def _targets(args):
    """The paths that ``args`` create in the sandbox, and every folder above them."""
    found, index = set(), 0
    while index < len(args):
        count, target = _ARGUMENTS.get(args[index], (0, None))
        if target is not None:
            path = PurePosixPath(args[index + 1 + target])
            found.add(str(path))
            found.update(str(parent) for parent in path.parents)
        index += 1 + count
    return found


def _parents(mounts, skip=()):
    """Create every folder above a mount point first, world-readable (bwrap would make them
    0700 as root, and a dropped uid could not reach the interpreter)."""
    own = {str(PurePosixPath(mounts[i + 1 + _ARGUMENTS[flag][1]]))
           for i, flag in enumerate(mounts)
           if flag in _ARGUMENTS and _ARGUMENTS[flag][1] is not None
           and (i == 0 or mounts[i - 1] not in ("--perms", "--size"))}
    folders = sorted(_targets(mounts) - own - set(skip) - {"/"})
    args = []
    for folder in folders:
        args += ["--perms", "0755", "--dir", folder]
    return args


def _system_view():
    args = []
    for path in SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in SYSTEM_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def _data_files(fds):
    args = []
    if "connection" in fds:
        args += ["--perms", "0444", "--ro-bind-data", str(fds["connection"]), CONNECTION]
    for name in ("passwd", "group"):
        if name in fds:
            args += ["--perms", "0444", "--ro-bind-data", str(fds[name]), f"/etc/{name}"]
    if "info" in fds:
        args += ["--info-fd", str(fds["info"])]
    return args


def find_bwrap():
    """``(path, version)`` of a working bubblewrap, or ``(None, reason)`` when there is none.

    A working one can create the namespaces the sandbox uses: on some hosts unprivileged user
    namespaces are disabled, and bwrap is installed but cannot start anything.
    """
    path = shutil.which("bwrap")
    if path is None:
        return None, "bubblewrap (bwrap) is not installed"
    probe = [path, "--unshare-all", "--die-with-parent", *_system_view(), "--proc", "/proc",
             "--dev", "/dev", "--tmpfs", "/tmp", "--", "true"]
    if os.geteuid() != 0:
        probe.insert(1, "--unshare-user")
    try:
        run = subprocess.run(probe, capture_output=True, timeout=30, text=True)
        version = subprocess.run([path, "--version"], capture_output=True, timeout=30,
                                 text=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{path} could not be run ({exc})"
    if run.returncode != 0:
        return None, f"{path} cannot create namespaces here: {run.stderr.strip()[:300]}"
    return path, version or "bubblewrap"
