"""Read submissions: a notebook file, a folder (one notebook plus data files) or a zip.

The student id is the file or folder stem: ``alice.ipynb``, ``alice/`` and ``alice.zip`` all
belong to student ``alice``. Characters other than letters, digits and ``. _ - @ +`` become ``_``.
"""

import hashlib
import json
import os
import re
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .exceptions import SubmissionError

__all__ = ["Submission", "CodeCell", "student_id", "load_submission", "copy_files",
           "submission_hash"]

MAX_NOTEBOOK_BYTES = 50 * 1024 ** 2
MAX_FOLDER_BYTES = 200 * 1024 ** 2
MAX_FILES = 1000
SKIPPED_ROLES = ("checker", "check")


@dataclass(frozen=True)
class CodeCell:
    """A code cell to run: its 1-based number in the notebook, source and question."""

    number: int
    source: str
    question: str = None


@dataclass
class Submission:
    """One student's submission, read and checked.

    Attributes
    ----------
    student : str
        Student id (file or folder stem).
    path : Path
        What was given on the command line.
    sha256 : str
        Hash of the submitted bytes (all files of a folder or zip).
    cells : list of CodeCell
        Code cells to run, without the self-check cells.
    questions : set of str
        Question ids found in answer-cell metadata.
    files : Path or None
        Folder whose files are copied next to the notebook when it runs.
    notes : list of str
        Things worth knowing (e.g. upgraded from nbformat 3).
    error : str or None
        Why it cannot be graded at all.
    """

    student: str
    path: Path
    sha256: str = ""
    cells: list = field(default_factory=list)
    questions: set = field(default_factory=set)
    files: Path = None
    notes: list = field(default_factory=list)
    error: str = None


def student_id(path):
    """The student id for a submission path (its stem, made safe for file names)."""
    path = Path(path)
    stem = path.name if path.is_dir() else path.stem
    return re.sub(r"[^A-Za-z0-9._@+-]", "_", stem).lstrip(".") or "_"


def load_submission(path, staging):
    """Read a submission; problems become ``error``/``notes`` rather than exceptions.

    Parameters
    ----------
    path : str or Path
        A ``.ipynb`` file, a folder holding one, or a ``.zip`` of either.
    staging : Path
        A private folder where a zip is unpacked.
    """
    path = Path(path)
    submission = Submission(student_id(path), path)
    try:
        notebook_path, submission.files = _locate(path, staging / submission.student)
        submission.sha256 = submission_hash(path)
        raw = notebook_path.read_bytes()
        if len(raw) > MAX_NOTEBOOK_BYTES:
            raise SubmissionError(f"{notebook_path.name} is larger than "
                                  f"{MAX_NOTEBOOK_BYTES // 2**20} MB; clear its outputs")
        nb = parse_notebook(raw, notebook_path.name, submission.notes)
    except SubmissionError as exc:
        submission.error = str(exc)
        submission.sha256 = submission.sha256 or _hash_quietly(path)
        return submission
    submission.cells, submission.questions = _code_cells(nb)
    return submission


def _locate(path, unpack_to):
    if path.is_dir():
        return _single_notebook(path), path
    if not path.is_file():
        raise SubmissionError(f"{str(path)!r} does not exist")
    if path.suffix.lower() == ".zip":
        folder = _unzip(path, unpack_to)
        return _single_notebook(folder), folder
    if path.suffix.lower() == ".ipynb":
        return path, None
    raise SubmissionError(f"{path.name} is not a notebook: submit a .ipynb file, a folder "
                          "holding one, or a .zip of either")


def _single_notebook(folder):
    found = sorted(p for p in folder.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and "__MACOSX" not in p.parts)
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise SubmissionError(f"expected exactly one .ipynb in {folder.name}, found {names}")
    return found[0]


def _unzip(path, target):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{path.name} is not a readable zip file ({exc})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        _check_members(path, members)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for member in members:
            destination = target / member.filename
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
    entries = list(target.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target


def _check_members(path, members):
    if len(members) > MAX_FILES:
        raise SubmissionError(f"{path.name} holds more than {MAX_FILES} files")
    if sum(m.file_size for m in members) > MAX_FOLDER_BYTES:
        raise SubmissionError(f"{path.name} unpacks to more than "
                              f"{MAX_FOLDER_BYTES // 2**20} MB")
    for member in members:
        name = Path(member.filename)
        if name.is_absolute() or ".." in name.parts or (member.external_attr >> 16) & 0o170000 \
                == 0o120000:
            raise SubmissionError(f"{path.name} contains an unsafe entry {member.filename!r}")


def parse_notebook(raw, name, notes):
    """Parse notebook bytes into nbformat 4, upgrading version 3 (noted in ``notes``).

    Raises
    ------
    SubmissionError
        For invalid JSON, a file that is not a notebook, or a version older than 3.
    """
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SubmissionError(f"{name} is not text (UTF-8): is it really a notebook?") from None
    except ValueError as exc:
        raise SubmissionError(f"{name} is not valid JSON (line {getattr(exc, 'lineno', '?')}, "
                              f"column {getattr(exc, 'colno', '?')}: {getattr(exc, 'msg', exc)}"
                              "); download the notebook again from Jupyter (File > Download)")
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (no 'nbformat' "
                              "field)")
    version = data["nbformat"]
    if version < 3:
        raise SubmissionError(f"{name} uses nbformat {version}, too old to read; open it in "
                              "Jupyter and save it, which upgrades it")
    if version == 3:
        notes.append(f"{name} was in nbformat 3 and was upgraded to nbformat 4")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat raises many kinds on malformed structure
        raise SubmissionError(f"{name} is not a valid notebook ({exc})") from None
    if not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{name} has no list of cells")
    return nb


def _code_cells(nb):
    cells, questions = [], set()
    for number, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("autograder", {})
        meta = meta if isinstance(meta, dict) else {}
        if meta.get("role") in SKIPPED_ROLES:
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        question = meta.get("question") if isinstance(meta.get("question"), str) else None
        if question:
            questions.add(question)
        cells.append(CodeCell(number, source, question))
    return cells, questions


def submission_hash(path):
    """SHA-256 over a submission's files (names and contents)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _hash_quietly(path):
    try:
        return submission_hash(path)
    except OSError:
        return ""


def copy_files(submission, directory, uid):
    """Copy a folder submission's files into a kernel's private directory, owned by ``uid``."""
    if submission.files is None:
        return
    for source in sorted(submission.files.rglob("*")):
        if source.is_symlink() or not (source.is_file() or source.is_dir()):
            continue
        target = directory / source.relative_to(submission.files)
        if source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        if uid is not None:
            os.chown(target, uid, uid)
