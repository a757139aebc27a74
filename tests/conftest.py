"""Shared fixtures: where the repository, the book and its notebooks are."""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build" / "html"


def toc_files(toc=None):
    """Every document the table of contents lists, as paths without suffix, in order."""
    toc = toc if toc is not None else yaml.safe_load((ROOT / "_toc.yml").read_text())
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


def book_notebooks():
    """Notebooks that are pages of the book (chapters and student exercise notebooks)."""
    return sorted(ROOT.glob("chapters/*/*.ipynb")) + sorted(ROOT.glob("exercises/*/exercise.ipynb"))


def all_notebooks():
    """Every notebook a reader or an instructor opens, including exercise sources."""
    return book_notebooks() + sorted(ROOT.glob("exercises/*/source.ipynb"))


@pytest.fixture(scope="session")
def root():
    return ROOT
