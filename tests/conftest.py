"""Shared fixtures: where the repository, the book and its notebooks are."""

import os
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The built book the browser tests read; AIOPEN_BUILD points them at another build folder.
BUILD = pathlib.Path(os.environ.get("AIOPEN_BUILD") or ROOT / "_build" / "html").resolve()
SAMPLE_EXERCISE = ROOT / "exercises" / "00-how-to-use"  # the autograder's own sample


def load_toc():
    """The parsed ``_toc.yml``."""
    return yaml.safe_load((ROOT / "_toc.yml").read_text())


def toc_files():
    """Every document the table of contents lists, as paths without suffix, in order."""
    toc = load_toc()
    found = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return found


def chapter_notebooks():
    """The chapters' section notebooks."""
    return sorted(ROOT.glob("chapters/*/*.ipynb"))


def book_notebooks():
    """Notebooks that are pages of the book (chapters and student exercise notebooks)."""
    return chapter_notebooks() + sorted(ROOT.glob("exercises/*/exercise.ipynb"))


def all_notebooks():
    """Every notebook a reader or an instructor opens, including exercise sources."""
    return book_notebooks() + sorted(ROOT.glob("exercises/*/source.ipynb"))
