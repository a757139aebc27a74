"""Kernels forked from the pre-imported template are isolated exactly as exec'd kernels.

Each property a submission could observe or use (ids, capabilities, limits, mounts, processes,
namespaces, control group, files) is read from inside a kernel started each way, on the same
machine, and compared. Also run by an unprivileged grader (``tests/test_unprivileged.py``).
"""

import json
import os
import signal

import psutil
import pytest

from autograder.exceptions import SandboxError
from autograder.sandbox.kernel import KernelSession
from autograder.sandbox.launch import MIB, KernelProcess, Limits, Workspace, host_env, \
    isolation
from autograder.sandbox.run import MAX_TEMPLATES, KernelSlot
from autograder.sandbox.template import Template, reference_imports

pytestmark = pytest.mark.skipif(isolation()[0] != "bubblewrap",
                                reason="the template forks into bubblewrap sandboxes")
LIMITS = Limits(memory=1536 * MIB, disk=64 * MIB, uid_base=63500)
UID = 63500 if os.geteuid() == 0 else None

PROBE = r'''
import ctypes, json, os, resource, socket
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines()
              if ":\t" in line)
files = []
for fd in os.listdir("/proc/self/fd"):
    try:
        files.append(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
child = os.fork()
if child == 0:
    os._exit(0 if libc.unshare(0x10000000) == 0 else 1)
print(json.dumps({
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()],
    "caps": {k: int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
    "no_new_privs": status["NoNewPrivs"].strip(),
    "limits": [resource.getrlimit(getattr(resource, "RLIMIT_" + n))
               for n in ("AS", "CPU", "FSIZE", "NPROC", "NOFILE", "CORE")],
    "mounts": sorted(" ".join(line.split()[1:4]) for line in open("/proc/self/mounts")),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "hostname": socket.gethostname(), "cgroup": open("/proc/self/cgroup").read().count("autograder"),
    "umask": os.umask(0o077), "cwd": os.getcwd(), "home": sorted(os.listdir(".")),
    "network": sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]),
    "new_user_namespace": os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0,
    "files": sorted(f for f in files if not f.startswith(("socket:", "anon_inode:", "pipe:"))),
    "environment": dict(os.environ)}))
'''


def _probe(workspace, template):
    process = KernelProcess.launch(workspace, uid=UID, limits=LIMITS, template=template)
    session = KernelSession(process)
    try:
        run = session.execute(PROBE, 60)
        assert run.status == "ok", run.traceback
        seen = json.loads("".join(o.get("text", "") for o in run.outputs))
    finally:
        session.close()
    seen["files"] = [f for f in seen["files"] if f != str(process.log)]
    return seen, process.status


@pytest.fixture(scope="module")
def both():
    workspace = Workspace()
    template = Template(["json"], host_env(home := workspace.new_folder()), home)
    try:
        yield _probe(workspace, None), _probe(workspace, template), template
    finally:
        template.close()
        workspace.cleanup()


def test_a_forked_kernel_sees_and_may_do_what_an_execd_kernel_may(both):
    (execd, _), (forked, _), _ = both
    for key in execd:
        if key not in ("caps", "processes"):
            assert forked[key] == execd[key], key
    # The sandbox wrapper holds the sandbox open: one process more, bubblewrap's init first.
    assert len(forked["processes"]) == len(execd["processes"]) + 1
    assert forked["processes"][0] == execd["processes"][0] == 1
    # Capabilities: none to use, and no more than an exec'd kernel could ever regain.
    for name, mask in forked["caps"].items():
        assert mask & ~execd["caps"][name] == 0, name
    assert forked["caps"]["CapEff"] == forked["caps"]["CapPrm"] == 0
    assert forked["no_new_privs"] == "1"


def test_the_sandbox_record_says_the_same(both):
    (_, execd), (_, forked), template = both
    assert forked.pop("kernel").startswith("forked from a template that had imported")
    assert forked == execd
    assert "json" in template.modules and "ipykernel.kernelapp" in template.modules


@pytest.mark.parametrize("code, ending", [
    ("import os; os._exit(3)", "exit code 3"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "killed by signal SIGKILL"),
])
def test_how_a_forked_kernel_ended_is_reported(code, ending):
    workspace = Workspace()
    template = Template([], host_env(home := workspace.new_folder()), home)
    try:
        process = KernelProcess.launch(workspace, uid=UID, limits=LIMITS, template=template)
        session = KernelSession(process)
        child = session.execute("import os, subprocess, sys\n"
                                "p = subprocess.Popen([sys.executable, '-c', "
                                "'import time; time.sleep(600)'])\nprint(p.pid)", 30)
        assert child.status == "ok"
        assert session.execute(code, 30).status == "dead"
        assert process.wait_exit(10)
        assert process.exit_description() == ending
        session.close()
        with pytest.raises(ProcessLookupError):  # the sandbox's processes went with it
            os.kill(process.pid, 0)
        if UID is not None:  # not even a zombie of the kernel or its child is left
            assert [p.pid for p in psutil.process_iter(["uids"])
                    if p.info["uids"] and UID in p.info["uids"]] == []
    finally:
        template.close()
        workspace.cleanup()


def _kill(template):
    os.kill(template.popen.pid, signal.SIGKILL)
    template.popen.wait()


def _works(process):
    session = KernelSession(process)
    try:
        assert session.execute("x = 1", 30).status == "ok"
    finally:
        session.close()
    return "kernel" in process.status


def test_a_template_that_dies_is_replaced_then_given_up(capfd):
    workspace = Workspace()
    slot = KernelSlot(workspace, (UID,), LIMITS)
    try:
        assert _works(slot.take())
        for _ in range(MAX_TEMPLATES - 1):
            _kill(slot.template())
            assert _works(slot.take())  # forked from a new template
        assert "the kernel template stopped; starting a new one" in capfd.readouterr().err
        _kill(slot.template())
        assert not _works(slot.take())  # started by exec
        assert f"stopped {MAX_TEMPLATES} times, so kernels start by exec" in \
            capfd.readouterr().err
    finally:
        slot.close()
        workspace.cleanup()


class _Refusing:
    """A template whose forks all fail (as when the kernel cannot join its sandbox)."""

    alive, modules, closed = True, (), False

    def spawn(self, *args):
        raise SandboxError("the kernel could not be forked into its sandbox: test")

    def close(self):
        self.closed = True


def test_kernels_that_cannot_be_forked_start_by_exec(capfd):
    workspace = Workspace()
    slot = KernelSlot(workspace, (UID,), LIMITS)
    refusing = slot._template = _Refusing()
    slot._starts = 1
    try:
        for attempt in range(MAX_TEMPLATES):
            assert not _works(slot.take())
        err = capfd.readouterr().err
        assert err.count("this kernel starts by exec: the kernel could not be forked") == \
            MAX_TEMPLATES - 1
        assert f"no longer used: {MAX_TEMPLATES} kernels could not be forked" in err
        assert refusing.closed and slot.template() is None
        slot.close()
        assert [p.name for p in workspace.root.iterdir() if p.is_dir()] == []  # no inbox left
    finally:
        slot.close()
        workspace.cleanup()


def test_reference_imports_are_read_from_code_cells():
    notebook = {"cells": [
        {"cell_type": "code", "source": "import numpy as np\nimport sklearn.linear_model\n"
                                        "%matplotlib inline\nfrom pandas import DataFrame"},
        {"cell_type": "code", "source": ["from . import local\n", "import matplotlib.pyplot\n",
                                         "import numpy"]},
        {"cell_type": "code", "source": "this is not python("},
        {"cell_type": "markdown", "source": "import os"}]}
    assert reference_imports(notebook) == ("numpy", "sklearn.linear_model", "pandas")
