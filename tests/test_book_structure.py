"""The book's structure: the table of contents, the folder tree, cell tags, figures."""

import json
import re

import nbformat
import pytest
from conftest import ROOT, all_notebooks, book_notebooks, chapter_notebooks, load_toc, toc_files

# The tags Jupyter Book and nbval act on. A misspelt tag (say `remove_input`) does nothing.
KNOWN_TAGS = {
    "hide-input", "hide-output", "hide-cell", "remove-input", "remove-output", "remove-cell",
    "raises-exception", "skip-execution", "full-width", "margin", "thebe-init",
    "nbval-ignore-output", "nbval-skip", "nbval-raises-exception",
}
PAGE_SUFFIXES = (".md", ".ipynb")
NOT_PAGES = ("source.ipynb",)


def _page(doc):
    matches = [ROOT / f"{doc}{suffix}" for suffix in PAGE_SUFFIXES if (ROOT / f"{doc}{suffix}").exists()]
    return matches[0] if len(matches) == 1 else None


def _pages_on_disk():
    pages = set()
    for folder in ("chapters", "exercises"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in PAGE_SUFFIXES and "submissions" not in path.parts \
                    and ".ipynb_checkpoints" not in path.parts and path.name not in NOT_PAGES:
                pages.add(path.relative_to(ROOT).with_suffix("").as_posix())
    return pages


def test_toc_is_a_numbered_jb_book():
    toc = load_toc()
    assert toc["format"] == "jb-book"
    chapters_part = [p for p in toc["parts"] if p["caption"] == "Chapters"]
    assert chapters_part and chapters_part[0].get("numbered")


def test_every_toc_entry_exists_once():
    docs = toc_files()
    missing = [doc for doc in docs if _page(doc) is None]
    assert not missing, f"_toc.yml lists files that do not exist (or exist twice): {missing}"
    assert len(docs) == len(set(docs)), "a file is listed twice in _toc.yml"


def test_every_page_on_disk_is_in_the_toc():
    orphans = sorted(_pages_on_disk() - set(toc_files()))
    assert not orphans, f"pages not listed in _toc.yml (add them, or remove the files): {orphans}"


def _exercise_of(chapter_file):
    """``exercises/NN-name/exercise`` for ``chapters/NN-name/index``."""
    return "exercises/" + chapter_file.split("/")[1] + "/exercise"


def test_sections_live_in_their_chapter_folder():
    toc = load_toc()
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            folder = chapter["file"].rsplit("/", 1)[0]
            for section in chapter.get("sections", []):
                if section["file"] == _exercise_of(chapter["file"]):
                    continue  # the chapter's exercise, read right after it
                assert section["file"].startswith(folder + "/"), (
                    f"{section['file']} is a section of {chapter['file']} but lives elsewhere")


def test_each_exercise_is_read_right_after_its_chapter():
    """"Next" from a chapter's last section leads to its exercise, then to the next chapter."""
    toc = load_toc()
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            exercise = _exercise_of(chapter["file"]) if chapter["file"].endswith("/index") else None
            if exercise is None or not (ROOT / f"{exercise}.ipynb").exists():
                continue
            sections = [s["file"] for s in chapter.get("sections", [])]
            assert sections and sections[-1] == exercise, (
                f"{exercise} should be the last section of {chapter['file']} in _toc.yml, so "
                "that a reader meets it right after the chapter")


def test_chapter_folders_are_numbered_slugs_with_matching_exercises():
    chapters = sorted(p.name for p in (ROOT / "chapters").iterdir() if p.is_dir() and p.name != "data")
    for name in chapters:
        assert re.fullmatch(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*", name), f"chapters/{name}: use NN-lowercase-hyphen"
        assert (ROOT / "chapters" / name / "index.md").exists(), f"chapters/{name} has no index.md"
    exercises = sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())
    assert set(exercises) <= set(chapters), f"exercise folders without a chapter: {set(exercises) - set(chapters)}"


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_cell_tags_are_known(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        unknown = set(cell.metadata.get("tags", [])) - KNOWN_TAGS
        assert not unknown, f"{path.name} cell {index}: unknown tags {unknown}; known: {sorted(KNOWN_TAGS)}"


def _figure_cells(nb):
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
            yield index, cell


@pytest.mark.parametrize("path", chapter_notebooks(),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_figures_have_alt_text_and_captions(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in _figure_cells(nb):
        meta = cell.metadata.get("mystnb", {})
        alt = meta.get("image", {}).get("alt", "")
        caption = meta.get("figure", {}).get("caption", "")
        assert len(alt.split()) >= 4, f"{path.name} cell {index}: figure needs alt text saying what it shows"
        assert caption.strip(), f"{path.name} cell {index}: figure needs a caption naming its source"


@pytest.mark.parametrize("path", chapter_notebooks(),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_headings_are_in_order(path):
    nb = nbformat.read(path, as_version=4)
    levels = [len(m.group(1)) for cell in nb.cells if cell.cell_type == "markdown"
              for m in re.finditer(r"^(#{1,6}) ", cell.source, flags=re.M)]
    assert levels and levels[0] == 1 and levels.count(1) == 1, f"{path.name}: needs exactly one # title, first"
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, f"{path.name}: heading level jumps from {before} to {after}"


def test_every_cited_key_is_in_references_bib():
    keys = set(re.findall(r"@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text()))
    texts = [p.read_text() for p in ROOT.glob("chapters/**/*.md")] + [(ROOT / "intro.md").read_text()]
    texts += [json.dumps(nbformat.read(p, as_version=4).cells) for p in book_notebooks()]
    cited = {k.strip() for text in texts for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
             for k in group.split(",")}
    assert cited, "no citations found at all"
    assert not cited - keys, f"cited but not in references.bib: {sorted(cited - keys)}"
