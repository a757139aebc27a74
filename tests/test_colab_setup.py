"""The Colab set-up cell: present and current in every notebook, inert outside Colab, and the
install it performs works in a clean virtual environment."""

import subprocess
import sys
import types
import venv

import nbformat
import pytest

from aiopen import colab
from conftest import ROOT, all_notebooks

URL = colab.repository_url(ROOT / "_config.yml")
SOURCE = colab.setup_cell_source(URL)


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_notebook_starts_with_the_current_setup_cell(path):
    assert colab.check_setup_cell(path, SOURCE) is None, "run `make setup-cells`"


def _run_cell(source, monkeypatch, in_colab):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<setup cell>", "exec"), {})
    return calls


def test_setup_cell_does_nothing_outside_colab(monkeypatch):
    assert _run_cell(SOURCE, monkeypatch, in_colab=False) == []


def test_setup_cell_installs_the_course_packages_in_colab(monkeypatch):
    calls = _run_cell(SOURCE, monkeypatch, in_colab=True)
    assert len(calls) == 1
    (command,), options = calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command[-1] == colab.install_spec(URL)
    assert options == {"check": True}


def test_write_setup_cell_inserts_then_leaves_alone(tmp_path):
    path = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T")]), path)
    assert colab.check_setup_cell(path, SOURCE) is not None
    assert colab.write_setup_cell(path, SOURCE) is True
    assert colab.write_setup_cell(path, SOURCE) is False
    assert colab.check_setup_cell(path, SOURCE) is None
    assert len(nbformat.read(path, as_version=4).cells) == 2


@pytest.mark.slow
def test_setup_cell_install_works_in_a_clean_venv(tmp_path):
    """Run the very cell, pointed at this checkout, in a new venv that pretends to be Colab."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    source = colab.setup_cell_source(ROOT.as_uri(), ref=head.stdout.strip())
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # Colab's pip is current; the one a 3.11 venv bundles cannot read a git+file:// requirement.
    pip = subprocess.run([python, "-m", "pip", "install", "--quiet", "pip==26.3"],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-3000:]
    script = (
        "import sys, types\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        + source
        + "\nimport autograder, aiopen.widgets\nfrom autograder import Checker\n"
        "from aiopen.datasets import read_table\nassert len(read_table('ch02-fmti-2023')) > 0\n"
        "print('imported')\n"
    )
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("imported")
