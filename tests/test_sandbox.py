"""The sandbox holds: one attack per failure class, broken input, and nothing left behind.

Every test here also runs as an unprivileged user (``tests/test_unprivileged.py``): what holds
for a root grader must hold for an ordinary one.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from autograder.sandbox import bwrap
from autograder.assign import assign
from autograder.authoring.bundle import read_bundle
from autograder.grading.grade import GradeOptions, grade
from autograder.sandbox.launch import MIB, Limits, UidLease, isolation

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_attacks import ATTACKS, EXPECTED, MARK, notebook  # noqa: E402

FILES = Path(__file__).parent / "files"
SECRET = 5_318_008
BUBBLEWRAP = isolation()[0] == "bubblewrap"
needs_bwrap = pytest.mark.skipif(not BUBBLEWRAP, reason="bubblewrap cannot run here")
LIMITS = Limits(memory=1536 * MIB, disk=64 * MIB, uid_base=63000)


def host_state(workspace):
    """What a submission might leave on the host: files, IPC objects, mounts, groups.

    Other graders may run at the same time (tests in parallel), so only this batch's own
    temporary folder is listed, and only control groups that stay empty count as left over.
    """
    folders = {"/tmp", "/var/tmp", "/dev/shm", "/etc", "/", sys.prefix,
               os.path.dirname(sys.prefix), str(Path(__file__).parent.parent)}
    files = {str(p) for folder in folders for p in Path(folder).glob(f"*{MARK}*")}
    files |= {str(p) for p in Path(workspace).iterdir()}
    ipcs = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout
    queues = sorted(os.listdir("/dev/mqueue")) if os.path.isdir("/dev/mqueue") else []
    return {"files": files, "shm": "0x4a4b4c4d" in ipcs, "queues": queues,
            "mounts": Path("/proc/self/mounts").read_text().count("\n"),
            # only a root grader makes control groups; an unprivileged one would see others'
            "empty groups": _empty_groups() & _empty_groups(pause=1.0) if os.geteuid() == 0
            else set()}


def _empty_groups(pause=0.0):
    time.sleep(pause)
    found = set()
    for path in Path("/sys/fs/cgroup").glob("**/autograder-*"):
        try:
            if not (path / "cgroup.procs").read_text().strip():
                found.add(str(path))
        except OSError:
            pass
    return found


def marked_processes():
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(MARK in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mini")
    source = tmp / "mini_source.ipynb"
    source.write_text((FILES / "mini_source.ipynb").read_text().replace("SECRET", str(SECRET)))
    source.chmod(0o600)
    return read_bundle(assign(source, tmp / "assign", verify=False).bundle)


@pytest.fixture(scope="module")
def attacked(bundle, tmp_path_factory):
    workspace = tmp_path_factory.mktemp("workspace")
    workspace.chmod(0o755)
    before = host_state(workspace)
    folder = tmp_path_factory.mktemp("attacks")
    paths = []
    for name, cells in ATTACKS.items():
        path = folder / f"{name}.ipynb"
        path.write_text(notebook(cells))
        paths.append(path)
    out = folder / "out"
    saved, tempfile.tempdir = tempfile.tempdir, str(workspace)
    try:
        results = grade(bundle, paths, out, GradeOptions(workers=2, quiet=True, limits=LIMITS))
    finally:
        tempfile.tempdir = saved
    return {r.student: r for r in results}, out, before, host_state(workspace)


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_attack_earns_only_its_honest_score(attacked, student):
    results, _, _, _ = attacked
    result = results[student]
    assert result.status == "graded", result.problems
    assert result.question_scores() == EXPECTED[student], result.problems


@pytest.mark.slow
def test_nothing_of_any_submission_is_left(attacked):
    _, _, before, after = attacked
    assert after == before
    assert marked_processes() == []


@pytest.mark.slow
@needs_bwrap
def test_planted_links_and_startup_files_do_nothing(attacked):
    results, _, _, _ = attacked
    result = results["planted_links"]
    assert [p.kind for p in result.problems] == ["crash"]
    assert "kernel restarted" in result.notes[0]
    assert not list(Path("/etc").glob(f"{MARK}*"))


@pytest.mark.slow
@needs_bwrap
def test_the_sandbox_record_says_what_was_isolated(attacked):
    results, _, _, _ = attacked
    sandbox = results["snoop"].sandbox
    assert sandbox["bubblewrap"].startswith("bubblewrap")
    # the attacks ran in kernels forked from the template, the default with bubblewrap
    assert sandbox["kernel"].startswith("forked from a template")
    assert sandbox["network"] == "none (private namespace)"
    assert "pid" in sandbox["namespaces"] and "ipc" in sandbox["namespaces"]
    if os.geteuid() == 0:
        assert sandbox["user"].startswith("uid ")
        assert sandbox["resources"].startswith("cgroup")
    else:
        assert "user" in sandbox["namespaces"]


@pytest.mark.slow
def test_hidden_inputs_stay_out_of_the_students_pages(attacked):
    results, out, _, _ = attacked
    outcome = results["echo_inputs"].questions[1].tests[1]
    assert not outcome.passed and str(SECRET) in outcome.detail
    assert "ValueError" in outcome.message and str(SECRET) not in outcome.message
    for name in ("feedback.html", "results.json"):
        assert str(SECRET) not in (out / "echo_inputs" / name).read_text()


# ---- broken input: a batch that must finish ------------------------------------------------

def _broken_batch(folder):
    """Submissions that once hung or crashed a batch, and one honest one."""
    good = notebook([("q1", "secret_answer = 0"), ("q2", "def double(x):\n    return 2 * x"),
                     ("q3", "name = 'Ada'")])
    (folder / "good.ipynb").write_text(good)
    with zipfile.ZipFile(folder / "bad_crc.zip", "w") as archive:
        archive.writestr("bad_crc.ipynb", good)
    data = bytearray((folder / "bad_crc.zip").read_bytes())
    start = data.index(b'"cells"')
    data[start:start + 7] = b'"cellz"'
    (folder / "bad_crc.zip").write_bytes(bytes(data))
    (folder / "nested.ipynb").write_text("[" * 200_000 + "]" * 200_000)
    os.mkfifo(folder / "fifo.ipynb")
    (folder / "surrogate.ipynb").write_text(notebook([
        "raise ValueError('broken \\ud800 text')", ("q3", "name = 'Ada'")]))
    (folder / "dir_named").mkdir()
    (folder / "dir_named" / "notes.ipynb").mkdir()
    (folder / "linked").mkdir()
    (folder / "linked" / "linked.ipynb").symlink_to(folder / "good.ipynb")
    (folder / "twice").mkdir()
    (folder / "twice" / "twice.ipynb").write_text(good)
    (folder / "twice.ipynb").write_text(good)
    (folder / "gradebook.csv.ipynb").write_text(good)
    return sorted(folder.iterdir())


@pytest.fixture(scope="module")
def broken(bundle, tmp_path_factory):
    folder = tmp_path_factory.mktemp("broken")
    paths = _broken_batch(folder)
    out = tmp_path_factory.mktemp("broken-out")
    results = grade(bundle, paths, out, GradeOptions(workers=2, quiet=True, limits=LIMITS))
    return {r.student: r for r in results}, out


@pytest.mark.slow
@pytest.mark.parametrize("student, words", [
    ("bad_crc", "is damaged"),
    ("nested", "nested too deeply"),
    ("fifo", "not a regular file"),
    ("dir_named", "notes.ipynb: not a regular file"),
    ("linked", "symbolic link"),
    ("twice", "all belong to student id 'twice'"),
])
def test_each_broken_submission_gets_a_clear_error(broken, student, words):
    results, out = broken
    result = results[student]
    assert result.status == "failed"
    assert words in result.problems[0].message
    assert json.loads((out / student / "result.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_the_rest_of_a_broken_batch_is_graded(broken):
    results, out = broken
    assert results["good"].score == 4
    assert results["_gradebook.csv"].score == 4
    assert results["surrogate"].status == "graded"
    assert "\\ud800" in (out / "surrogate" / "result.json").read_text()
    assert not list(out.rglob("*.tmp"))
    assert (out / "gradebook.csv").read_text().count("\n") == len(results) + 1


# ---- the pieces, without running kernels ---------------------------------------------------

def test_bwrap_arguments_show_only_the_interpreter():
    view = bwrap.View(readonly=("/opt/python",), inbox="/w/inbox", wrapper="/w/exec.py",
                      disk=64 * MIB)
    args = bwrap.bwrap_arguments(view)
    binds = [args[i + 1] for i, a in enumerate(args) if a in ("--bind", "--ro-bind")]
    assert "--bind" not in args and "--dev-bind" not in args
    assert "/opt/python" in binds and "/w/inbox" in binds
    assert not any(b in ("/", "/home", "/root", "/tmp", "/work") for b in binds)
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-user",
                 "--die-with-parent", "--disable-userns"):
        assert flag in args
    assert args[args.index("--tmpfs", args.index("--size")) + 1] == bwrap.HOME
    assert args[-5:] == ["--remount-ro", "/", "--chdir", bwrap.HOME, "--clearenv"]


def test_bwrap_arguments_as_root_keep_only_what_changing_uid_needs():
    view = bwrap.View(readonly=(), inbox="/i", wrapper="/x", disk=MIB, user_namespace=False,
                      network=True)
    args = bwrap.bwrap_arguments(view)
    assert "--unshare-user" not in args and "--unshare-net" not in args
    added = [args[i + 1] for i, a in enumerate(args) if a == "--cap-add"]
    assert args[args.index("--cap-drop") + 1] == "ALL"
    assert sorted(added) == ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"]


def test_folders_above_mounts_are_made_readable_first():
    view = bwrap.View(readonly=("/deep/down/python",), inbox="/i", wrapper="/x", disk=MIB)
    args = bwrap.bwrap_arguments(view)
    made = args.index("/deep/down")
    assert args[made - 3:made] == ["--perms", "0755", "--dir"]
    assert made < args.index("/deep/down/python")


@pytest.mark.skipif(os.geteuid() != 0, reason="uids are leased only by a root grader")
def test_uid_leases_are_machine_wide_whatever_tmpdir(tmp_path, monkeypatch):
    first = UidLease(62000, 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    second = UidLease(62000, 2)
    try:
        assert not set(first.uids) & set(second.uids)
    finally:
        first.release()
        second.release()


def test_sockets_are_refused_as_submissions(tmp_path, bundle):
    path = tmp_path / "sock.ipynb"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        results = grade(bundle, [path], tmp_path / "out", GradeOptions(quiet=True))
    finally:
        server.close()
    assert "not a regular file" in results[0].problems[0].message


@pytest.mark.slow
def test_the_fallback_grades_and_says_what_it_lacks(bundle, tmp_path):
    path = tmp_path / "plain.ipynb"
    path.write_text(notebook([("q1", "secret_answer = 0"),
                              ("q2", "def double(x):\n    return 2 * x"), "import os\nos._exit(3)",
                              ("q3", "name = 'Ada'")]))
    limits = Limits(bubblewrap=False, uid_base=63000)
    result = grade(bundle, [path], tmp_path / "out", GradeOptions(quiet=True, limits=limits))[0]
    assert result.score == 4 and [p.kind for p in result.problems] == ["crash"]
    assert result.sandbox["bubblewrap"].startswith("not used")
    assert result.sandbox["filesystem"].startswith("host file system")


@pytest.mark.slow
@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="control groups need root")
def test_memory_is_capped_for_all_processes_together(bundle, tmp_path):
    hog = ("import subprocess, sys\n"
           "hogs = [subprocess.Popen([sys.executable, '-c', 'b = bytearray(300 * 2**20); "
           "import time; time.sleep(2)']) for _ in range(5)]\n"
           "codes = [h.wait() for h in hogs]")
    path = tmp_path / "hog.ipynb"
    path.write_text(notebook([hog, ("q1", "secret_answer = 0 if -9 in codes else 'free'"),
                              ("q2", "def double(x):\n    return 2 * x"), ("q3", "name = 'Ada'")]))
    limits = Limits(memory=1024 * MIB, uid_base=63000)
    options = GradeOptions(quiet=True, limits=limits, cell_timeout=60)
    result = grade(bundle, [path], tmp_path / "out", options)[0]
    assert result.question_scores() == {"q1": 1, "q2": 2, "q3": 1}, result.problems


def test_an_interpreter_under_tmp_stays_visible_over_the_private_tmp():
    view = bwrap.View(readonly=("/tmp/clone/.venv",), inbox="/i", wrapper="/x", disk=MIB)
    args = bwrap.bwrap_arguments(view)
    assert args.index("/tmp/clone/.venv") > args.index("/tmp", args.index("--tmpfs"))
    made = args.index("/tmp/clone")
    assert args[made - 1] == "--dir" and made > args.index("/tmp", args.index("--tmpfs"))


def test_a_home_the_kernel_uid_cannot_reach_is_refused_with_the_fix(tmp_path):
    from autograder.exceptions import SandboxError
    from autograder.sandbox.launch import _check_reachable
    private = tmp_path / "private"
    home = private / "workspace" / "home"
    home.mkdir(parents=True)
    private.chmod(0o700)
    with pytest.raises(SandboxError, match=r"private is not searchable .*set TMPDIR"):
        _check_reachable(home, 63000)
    private.chmod(0o755)
    for parent in home.parents:
        if not parent.stat().st_mode & 0o001:
            pytest.skip(f"{parent} is private on this machine")
    _check_reachable(home, 63000)


def _workspace_process(tmp, then):
    """A grader process that makes a Workspace in ``tmp``, prints its folder, then ``then``."""
    code = ("import os, signal, time\nfrom autograder.sandbox.launch import Workspace\n"
            "print(Workspace().root, flush=True)\n" + then)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)})


def test_a_new_workspace_removes_only_the_folders_of_dead_graders(tmp_path, monkeypatch):
    """A grader killed with SIGKILL cannot clean up; the next one removes its folder, and
    never a live grader's or one another grader may have just made."""
    live = _workspace_process(tmp_path, "time.sleep(120)")
    live_root = Path(live.stdout.readline().strip())  # made before the other one exists
    killed = _workspace_process(tmp_path, "os.kill(os.getpid(), signal.SIGKILL)")
    try:
        dead_root = Path(killed.stdout.readline().strip())
        assert killed.wait(timeout=60) == -9 and dead_root.is_dir() and live_root.is_dir()
        just_made = tmp_path / "autograder-justmade"
        just_made.mkdir()
        old = tmp_path / "autograder-oldfoldr"  # no lock file, two hours old
        other = tmp_path / "autograder-verify-abcdefgh"  # not a workspace: assign's
        for folder in (old, other):
            folder.mkdir()
            os.utime(folder, (time.time() - 7200,) * 2)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        from autograder.sandbox.launch import Workspace
        workspace = Workspace()
        try:
            assert sorted(workspace.removed) == sorted([dead_root, old])
            assert live_root.is_dir() and just_made.is_dir() and workspace.root.is_dir()
            assert other.is_dir()
            assert not dead_root.exists() and not old.exists()
        finally:
            workspace.cleanup()
        assert not workspace.root.exists()
    finally:
        for process in (live, killed):
            process.kill()
            process.wait()
            process.stdout.close()
