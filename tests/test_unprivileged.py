"""The same hostile and sandbox tests, run by a grader that is an ordinary user.

Most instructors grade as themselves, not as root. As root, this test starts pytest again as
an unprivileged uid; the interpreter may live under ``/root`` (0700), so the run happens in a
private mount namespace in which only the interpreter and the checkout are visible under
``/root``, as on a machine where Python is installed for all users.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.sandbox import bwrap
from autograder.sandbox.launch import isolation
from conftest import ROOT

UID = 61990
TESTS = ["tests/test_hostile.py", "tests/test_sandbox.py", "tests/test_grade.py",
         "tests/test_template.py"]


def _readable_view():
    """bwrap arguments: an empty ``/root`` holding only the interpreter and checkout paths
    that live under it (elsewhere the host's own folders stay as they are)."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), str(ROOT)}
    hidden = sorted(p for p in paths if p.startswith("/root/") and os.path.exists(p))
    binds = [arg for path in hidden for arg in ("--ro-bind", path, path)]
    return ["--perms", "0755", "--tmpfs", "/root", *bwrap._parents(binds), *binds]


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="already unprivileged: the other tests are this")
@pytest.mark.skipif(isolation()[0] != "bubblewrap" or not shutil.which("setpriv"),
                    reason="needs bubblewrap and setpriv")
def test_sandbox_tests_pass_for_an_unprivileged_grader():
    tmp = Path(tempfile.mkdtemp(prefix="autograder-unprivileged-", dir="/tmp"))
    try:
        os.chown(tmp, UID, UID)
        command = ["bwrap", "--dev-bind", "/", "/", *_readable_view(), "--die-with-parent",
                   "--", "setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
                   sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   f"--basetemp={tmp}/pytest", "-x", *TESTS]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp),
               "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=900)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
