"""One control group per kernel: an aggregate cap on memory, processes and CPU.

Resource limits (``RLIMIT_*``) hold per process, so a submission that starts many processes
could together use far more than any one limit. A control group counts all of a kernel's
processes together. cgroup v2 is used where ``/sys/fs/cgroup`` is a unified hierarchy with the
controllers enabled, else the v1 ``memory``, ``pids`` and ``cpu`` hierarchies. Creating groups
needs root (or a delegated subtree); where neither works, :meth:`KernelGroup.create` returns
None and the sandbox record says so.
"""

import os
import secrets
import time
from pathlib import Path

__all__ = ["KernelGroup"]

ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD = 100_000  # microseconds


class KernelGroup:
    """A control group (one folder per hierarchy) that a kernel and all its children join.

    Use :meth:`create`, :meth:`add` the kernel's first process before it runs anything, and
    :meth:`remove` after the kernel ended.
    """

    def __init__(self, folders, version):
        self.folders, self.version = folders, version

    @classmethod
    def create(cls, *, memory, processes, cpus):
        """A new group with the limits set, or None where groups cannot be made here."""
        if os.geteuid() != 0:
            return None
        name = f"autograder-{secrets.token_hex(6)}"
        try:
            if (ROOT / "cgroup.controllers").exists():
                return cls._create_v2(name, memory, processes, cpus)
            return cls._create_v1(name, memory, processes, cpus)
        except OSError:
            return None

    @classmethod
    def _create_v2(cls, name, memory, processes, cpus):
        # A child group gets a controller only where its parent enables it for children
        # (cgroup.subtree_control): under our own group if it does, else at the top.
        wanted = {"memory", "pids", "cpu"}
        for parent in (ROOT / _own_path(""), ROOT):
            try:
                enabled = set((parent / "cgroup.subtree_control").read_text().split())
            except OSError:
                continue
            if wanted <= enabled:
                break
        else:
            return None
        folder = parent / name
        folder.mkdir()
        group = cls([folder], 2)
        try:
            _write(folder / "memory.max", memory)
            _write(folder / "memory.swap.max", 0, optional=True)
            _write(folder / "pids.max", processes)
            _write(folder / "cpu.max", f"{int(cpus * CPU_PERIOD)} {CPU_PERIOD}")
        except OSError:
            group.remove()
            raise
        return group

    @classmethod
    def _create_v1(cls, name, memory, processes, cpus):
        folders = []
        group = cls(folders, 1)
        try:
            for controller in ("memory", "pids", "cpu"):
                base = ROOT / controller
                if not (base / "cgroup.procs").exists():
                    group.remove()
                    return None
                folder = base / _own_path(controller) / name
                folder.mkdir()
                folders.append(folder)
            memory_folder, pids_folder, cpu_folder = folders
            _write(memory_folder / "memory.limit_in_bytes", memory)
            _write(memory_folder / "memory.memsw.limit_in_bytes", memory, optional=True)
            _write(pids_folder / "pids.max", processes)
            _write(cpu_folder / "cpu.cfs_period_us", CPU_PERIOD)
            _write(cpu_folder / "cpu.cfs_quota_us", int(cpus * CPU_PERIOD))
        except OSError:
            group.remove()
            raise
        return group

    def describe(self):
        """For the sandbox record."""
        return f"cgroup v{self.version}: memory, processes and CPU capped for all processes"

    def add(self, pid):
        """Move process ``pid`` into the group (its later children start inside it)."""
        for folder in self.folders:
            fd = os.open(folder / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, str(pid).encode())
            finally:
                os.close(fd)

    def pids(self):
        """Processes still in the group."""
        found = set()
        for folder in self.folders:
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def out_of_memory(self):
        """True if the group hit its memory cap and the kernel killed one of its processes."""
        for folder in self.folders:
            for name in ("memory.oom_control", "memory.events"):  # v1, v2
                try:
                    lines = (folder / name).read_text().splitlines()
                except OSError:
                    continue
                counts = dict(line.split()[:2] for line in lines if len(line.split()) >= 2)
                if int(counts.get("oom_kill", 0) or 0) > 0:
                    return True
        return False

    def remove(self, timeout=5.0):
        """Kill what is left in the group and delete it."""
        deadline = time.monotonic() + timeout
        while self.pids() and time.monotonic() < deadline:
            for pid in self.pids():
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy for a moment after its last process exited
                    time.sleep(0.02)


def _own_path(controller):
    """The calling process's group path in ``controller``'s hierarchy (v2: ``""``)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == controller or controller in controllers.split(","):
            return path.lstrip("/")
    return ""


def _write(path, value, optional=False):
    try:
        path.write_text(str(value))
    except OSError:
        if not optional:
            raise
