"""Read submissions: a notebook file, a folder (one notebook plus data files) or a zip.

The student id is the file or folder stem: ``alice.ipynb``, ``alice/`` and ``alice.zip`` all
belong to student ``alice``. Characters other than letters, digits and ``. _ - @ +`` become ``_``.
"""

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..exceptions import SubmissionError

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
    notebook : dict or None
        The notebook as read (nbformat 4), to return it to the student with outputs.
    outputs : dict
        ``{cell number: nbformat outputs}`` its cells produced when graded.
    """

    student: str
    path: Path
    sha256: str = ""
    cells: list = field(default_factory=list)
    questions: set = field(default_factory=set)
    files: Path = None
    notes: list = field(default_factory=list)
    error: str = None
    notebook: dict = field(default=None, repr=False)
    outputs: dict = field(default_factory=dict, repr=False)


RESERVED = {"gradebook.csv", "summary.html"}


def student_id(path):
    """The student id for a submission path (its stem, made safe for file names).

    An id that would clash with the batch's own files (``gradebook.csv``, ``summary.html``)
    gets a leading ``_``.
    """
    path = Path(path)
    stem = path.name if _is_dir(path) else path.stem
    student = re.sub(r"[^A-Za-z0-9._@+-]", "_", stem).lstrip(".") or "_"
    return "_" + student if student.lower() in RESERVED else student


def load_submission(path, staging):
    """Read a submission; every problem becomes ``error``/``notes``, never an exception.

    Nothing here blocks or follows a link: FIFOs, devices, sockets and symbolic links are
    refused by type before they are opened, and every read is bounded in size.

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
        raw = _read_regular(notebook_path, MAX_NOTEBOOK_BYTES,
                            f"{notebook_path.name} is larger than "
                            f"{MAX_NOTEBOOK_BYTES // 2**20} MB; clear its outputs")
        nb = parse_notebook(raw, notebook_path.name, submission.notes)
        submission.cells, submission.questions = _code_cells(nb)
        submission.notebook = nb
    except SubmissionError as exc:
        submission.error = str(exc)
    except RecursionError:
        submission.error = (f"{path.name} is nested too deeply to read; is it really a "
                            "notebook saved by Jupyter?")
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        submission.error = f"{path.name} could not be read ({type(exc).__name__}: {exc})"
    if submission.error:
        submission.sha256 = submission.sha256 or _hash_quietly(path)
    return submission


def _is_dir(path):
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _locate(path, unpack_to):
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise SubmissionError(f"{str(path)!r} does not exist") from None
    if stat.S_ISLNK(mode):
        raise SubmissionError(f"{path.name} is a symbolic link; submit the notebook itself")
    if stat.S_ISDIR(mode):
        return _single_notebook(path), path
    if not stat.S_ISREG(mode):
        raise SubmissionError(f"{path.name} is not a regular file (a pipe, device or socket); "
                              "submit a .ipynb file, a folder holding one, or a .zip of either")
    if path.suffix.lower() == ".zip":
        folder = _unzip(path, unpack_to)
        return _single_notebook(folder), folder
    if path.suffix.lower() == ".ipynb":
        return path, None
    raise SubmissionError(f"{path.name} is not a notebook: submit a .ipynb file, a folder "
                          "holding one, or a .zip of either")


def _walk(folder):
    """``(path, lstat)`` of everything below ``folder``, never following links, bounded."""
    found = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            entry = Path(top) / name
            found.append((entry, os.lstat(entry)))
            if len(found) > MAX_FILES:
                raise SubmissionError(f"{folder.name} holds more than {MAX_FILES} files")
    return sorted(found)


def _single_notebook(folder):
    entries = [(p, info) for p, info in _walk(folder)
               if p.suffix.lower() == ".ipynb" and not {".ipynb_checkpoints", "__MACOSX"}
               & set(p.relative_to(folder).parts)]
    found = [p for p, info in entries if stat.S_ISREG(info.st_mode)]
    others = [f"{p.name}: a symbolic link" if stat.S_ISLNK(info.st_mode) else
              f"{p.name}: not a regular file" for p, info in entries
              if not stat.S_ISREG(info.st_mode)]
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        extra = f" ({'; '.join(others)}; not read)" if others else ""
        raise SubmissionError(f"expected exactly one .ipynb in {folder.name}, found "
                              f"{names}{extra}")
    return found[0]


def _read_regular(path, limit, too_large):
    """The bytes of regular file ``path`` (no links, pipes or devices), at most ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SubmissionError(f"{path.name} is a symbolic link; submit the file itself") \
                from None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionError(f"{path.name} is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SubmissionError(too_large)
    return data


def _unzip(path, target):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise SubmissionError(f"{path.name} is not a readable zip file ({exc})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        _check_members(path, members)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        try:
            for member in members:
                destination = target / member.filename
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, open(destination, "xb") as out:
                    shutil.copyfileobj(source, out)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError,
                NotImplementedError, RuntimeError) as exc:
            raise SubmissionError(f"{path.name} is damaged: {member.filename!r} could not be "
                                  f"unpacked ({exc}); make the zip again") from None
    entries = list(target.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target


def _check_members(path, members):
    if len(members) > MAX_FILES:
        raise SubmissionError(f"{path.name} holds more than {MAX_FILES} files")
    if sum(m.file_size for m in members) > MAX_FOLDER_BYTES:
        raise SubmissionError(f"{path.name} unpacks to more than "
                              f"{MAX_FOLDER_BYTES // 2**20} MB")
    names = set()
    for member in members:
        name = Path(member.filename)
        kind = (member.external_attr >> 16) & 0o170000
        if name.is_absolute() or ".." in name.parts or kind not in (0, 0o100000) \
                or member.filename.lower() in names:
            raise SubmissionError(f"{path.name} contains an unsafe entry {member.filename!r}")
        names.add(member.filename.lower())


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
    """SHA-256 over a submission's regular files (names and contents), bounded in size."""
    path = Path(path)
    digest = hashlib.sha256()
    if not _is_dir(path):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(_read_regular(path, MAX_FOLDER_BYTES, f"{path.name} is "
                                     "too large")).digest())
        return digest.hexdigest()
    total = 0
    for file, info in _walk(path):
        if not stat.S_ISREG(info.st_mode):
            continue
        total += info.st_size
        if total > MAX_FOLDER_BYTES:
            raise SubmissionError(f"{path.name} holds more than "
                                  f"{MAX_FOLDER_BYTES // 2**20} MB")
        digest.update(str(file.relative_to(path)).encode("utf-8", "surrogateescape"))
        digest.update(hashlib.sha256(_read_regular(file, MAX_FOLDER_BYTES, "too large"))
                      .digest())
    return digest.hexdigest()


def _hash_quietly(path):
    try:
        return submission_hash(path)
    except (OSError, SubmissionError, RecursionError):
        return ""


def copy_files(submission, inbox):
    """Copy a folder submission's regular files into a kernel's read-only inbox.

    The inbox belongs to the grader and the kernel can only read it; the kernel copies the
    files into its own home when it starts. Links, pipes and devices are skipped.
    """
    if submission.files is None:
        return
    for source, info in _walk(submission.files):
        target = inbox / source.relative_to(submission.files)
        if stat.S_ISDIR(info.st_mode):
            target.mkdir(mode=0o755, exist_ok=True)
        elif stat.S_ISREG(info.st_mode):
            data = _read_regular(source, MAX_FOLDER_BYTES, f"{source.name} is too large")
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
