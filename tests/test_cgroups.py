"""Control groups, on a fake /sys/fs/cgroup: which hierarchy is used and what is written."""

import pytest

from autograder.sandbox import cgroups
from autograder.sandbox.cgroups import KernelGroup


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    monkeypatch.setattr(cgroups.os, "geteuid", lambda: 0)
    return tmp_path


def test_v2_group_under_our_own_when_it_delegates(fake_root, monkeypatch):
    monkeypatch.setattr(cgroups, "_own_path", lambda controller: "grader.scope")
    own = fake_root / "grader.scope"
    own.mkdir()
    (fake_root / "cgroup.controllers").write_text("cpu memory pids io")
    (own / "cgroup.subtree_control").write_text("cpu memory pids")
    group = KernelGroup.create(memory=2**30, processes=64, cpus=0.5)
    folder = group.folders[0]
    assert group.version == 2 and folder.parent == own
    assert (folder / "memory.max").read_text() == str(2**30)
    assert (folder / "pids.max").read_text() == "64"
    assert (folder / "cpu.max").read_text() == "50000 100000"


def test_v2_falls_back_to_the_top_when_our_group_does_not_delegate(fake_root, monkeypatch):
    monkeypatch.setattr(cgroups, "_own_path", lambda controller: "session.scope")
    (fake_root / "session.scope").mkdir()
    (fake_root / "session.scope" / "cgroup.subtree_control").write_text("")
    (fake_root / "cgroup.controllers").write_text("cpu memory pids")
    (fake_root / "cgroup.subtree_control").write_text("cpu memory pids")
    group = KernelGroup.create(memory=2**30, processes=64, cpus=1)
    assert group.folders[0].parent == fake_root


def test_v2_without_the_controllers_gives_no_group(fake_root, monkeypatch):
    monkeypatch.setattr(cgroups, "_own_path", lambda controller: "")
    (fake_root / "cgroup.controllers").write_text("cpu")
    (fake_root / "cgroup.subtree_control").write_text("cpu")
    assert KernelGroup.create(memory=2**30, processes=64, cpus=1) is None


def test_v1_uses_one_folder_per_controller(fake_root, monkeypatch):
    monkeypatch.setattr(cgroups, "_own_path", lambda controller: "")
    for controller in ("memory", "pids", "cpu"):
        (fake_root / controller).mkdir()
        (fake_root / controller / "cgroup.procs").write_text("")
    group = KernelGroup.create(memory=512 * 2**20, processes=32, cpus=1)
    memory, pids, cpu = group.folders
    assert group.version == 1
    assert (memory / "memory.limit_in_bytes").read_text() == str(512 * 2**20)
    assert (pids / "pids.max").read_text() == "32"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "100000"


def test_no_group_without_root(monkeypatch):
    monkeypatch.setattr(cgroups.os, "geteuid", lambda: 1000)
    assert KernelGroup.create(memory=2**30, processes=64, cpus=1) is None


def test_out_of_memory_reads_the_kill_count(fake_root, monkeypatch):
    monkeypatch.setattr(cgroups, "_own_path", lambda controller: "")
    (fake_root / "cgroup.controllers").write_text("cpu memory pids")
    (fake_root / "cgroup.subtree_control").write_text("cpu memory pids")
    group = KernelGroup.create(memory=2**30, processes=64, cpus=1)
    events = group.folders[0] / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert not group.out_of_memory()
    events.write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.out_of_memory()
