"""How the book build behaves: a failing chapter fails it by name, and the cache re-executes
only what changed. Small throwaway books, built with the flags `make book` uses."""

import pathlib
import re
import subprocess
import sys

import nbformat
import pytest

pytestmark = pytest.mark.slow

JUPYTER_BOOK = pathlib.Path(sys.executable).with_name("jupyter-book")
FLAGS = ["-W", "-n", "--keep-going", "--builder", "html"]
CONFIG = """title: test
execute:
  execute_notebooks: cache
  raise_on_error: true
  show_tb: true
"""


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {path.stem}")]
                                  + [nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _book(folder, *names):
    (folder / "_config.yml").write_text(CONFIG)
    toc = "format: jb-book\nroot: intro\nchapters:\n" + "".join(f"  - file: {n}\n" for n in names)
    (folder / "_toc.yml").write_text(toc)
    (folder / "intro.md").write_text("# Intro\n")


def _build(folder):
    done = subprocess.run([str(JUPYTER_BOOK), "build", str(folder), *FLAGS],
                          capture_output=True, text=True, timeout=600)
    return done.returncode, re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


def _executed(log):
    return [pathlib.Path(p).name for p in re.findall(r"(\S+\.ipynb): Executed notebook in", log)]


def test_a_chapter_that_fails_to_execute_fails_the_build_naming_notebook_and_cell(tmp_path):
    _book(tmp_path, "broken")
    _notebook(tmp_path / "broken.ipynb", "x = 1", "y = x / 0  # the failing cell")
    code, log = _build(tmp_path)
    assert code != 0
    assert f"{tmp_path / 'broken.ipynb'}: WARNING: Executing notebook failed" in log
    assert "y = x / 0  # the failing cell" in log
    assert "ZeroDivisionError" in log


def test_rebuild_re_executes_only_the_changed_notebook(tmp_path):
    _book(tmp_path, "one", "two")
    _notebook(tmp_path / "one.ipynb", "print('one')")
    _notebook(tmp_path / "two.ipynb", "print('two')")
    code, log = _build(tmp_path)
    assert code == 0, log[-3000:]
    assert len(_executed(log)) == 2, log[-3000:]
    _notebook(tmp_path / "two.ipynb", "print('two, edited')")
    code, log = _build(tmp_path)
    assert code == 0, log[-3000:]
    assert _executed(log) == ["two.ipynb"]
