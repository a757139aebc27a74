"""Read an exercise source notebook in the authoring format and validate it.

The format (see ``autograder/README.md``): a raw ``# ASSIGNMENT`` cell with YAML, questions
between raw ``# QUESTION`` (YAML) and ``# END QUESTION`` cells, ``# TEST`` code cells holding
``def test(student):``, solutions marked ``# BEGIN SOLUTION``/``# END SOLUTION`` or by a line
ending ``# SOLUTION``, and ``<!-- DISCUSSION -->`` markdown cells for reflections.
"""

import ast
import re
from dataclasses import dataclass, field

import yaml

from ..exceptions import FormatError

__all__ = ["Check", "Question", "Assignment", "SourceCell", "parse_source"]

ID_PATTERN = re.compile(r"^[a-z0-9_]+$")
ASSIGNMENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MARKERS = ("# ASSIGNMENT", "# QUESTION", "# END QUESTION")
DISCUSSION = "<!-- DISCUSSION -->"
HEADER_KEYS = {"id", "title", "cell_timeout", "timeout", "deadline", "grace", "late_penalty",
               "late_cap", "late_cutoff"}
LATE_KEYS = ("deadline", "grace", "late_penalty", "late_cap", "late_cutoff")
QUESTION_KEYS = {"id", "points", "kind", "answer", "min_words", "manual", "rubric"}
TEST_KEYS = {"points", "hidden", "name", "hint"}


@dataclass(frozen=True)
class Check:
    """One ``# TEST`` cell.

    Attributes
    ----------
    name : str
        Short label shown to students.
    points : float
        Credit when it passes.
    hidden : bool
        Hidden tests run only at grading and never reach the student notebook.
    hint : str
        Shown to the student when the test fails.
    source : str
        Python source defining ``test(student)``.
    cell : int
        1-based cell number in the source notebook.
    """

    name: str
    points: float
    hidden: bool
    hint: str
    source: str
    cell: int


@dataclass(frozen=True)
class Question:
    """One question: its id, kind, points, tests and (for reflections) answer and discussion.

    Attributes
    ----------
    id : str
        Unique id matching ``[a-z0-9_]+``.
    points : float
        Maximum score.
    kind : str
        ``"code"`` or ``"reflection"``.
    checks : tuple of Check
        Its tests (empty for reflections).
    answer : str or None
        Reflection: name of the variable holding the student's text.
    min_words : int
        Reflection: words needed for completion credit.
    discussion : str
        Reflection: the author's discussion (markdown), shown after answering.
    cell : int
        1-based cell number of its ``# QUESTION`` cell.
    manual : bool
        Reviewed by hand (``autograder review``) even though it is a code question;
        reflections always are.
    rubric : str
        Guidance for the person reviewing it (markdown), shown on the review page only.
    """

    id: str
    points: float
    kind: str = "code"
    checks: tuple = ()
    answer: str = None
    min_words: int = 25
    discussion: str = ""
    cell: int = 0
    manual: bool = False
    rubric: str = ""

    @property
    def reviewed(self):
        """True when the question gets a manual review step."""
        return self.manual or self.kind == "reflection"


@dataclass(frozen=True)
class SourceCell:
    """A source cell and its role: ``plain``, ``answer``, ``test``, ``discussion``, ``marker``."""

    role: str
    cell: dict
    question: str = None
    number: int = 0


@dataclass(frozen=True)
class Assignment:
    """A parsed source notebook.

    Attributes
    ----------
    id, title : str
        From the ``# ASSIGNMENT`` header.
    cell_timeout, timeout : float
        Seconds allowed per cell and per submission at grading.
    questions : tuple of Question
        In notebook order.
    cells : tuple of SourceCell
        Every cell of the source with its role.
    metadata : dict
        The notebook's metadata.
    late : dict
        The late-work policy given in the header (``deadline``, ``grace``, ``late_penalty``,
        ``late_cap``, ``late_cutoff``, as text); empty when none is given.
    """

    id: str
    title: str
    cell_timeout: float
    timeout: float
    questions: tuple
    cells: tuple = field(repr=False)
    metadata: dict = field(repr=False, default_factory=dict)
    late: dict = field(default_factory=dict)

    @property
    def points(self):
        """Total points of the assignment."""
        return sum(q.points for q in self.questions)

    def question(self, qid):
        """Return the question with id ``qid``."""
        for question in self.questions:
            if question.id == qid:
                return question
        raise KeyError(f"no question {qid!r}; questions are "
                       f"{', '.join(q.id for q in self.questions)}")


def parse_source(nb):
    """Parse and validate a source notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict
        The source notebook (nbformat 4).

    Returns
    -------
    Assignment

    Raises
    ------
    FormatError
        Listing every problem found, each with its cell number, question and fix.
    """
    parser = _Parser()
    for number, cell in enumerate(nb["cells"], start=1):
        parser.feed(number, cell)
    return parser.finish(nb.get("metadata", {}))


def source_text(cell):
    """Return a cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def marker_of(cell):
    """Return the structural marker of a raw cell (``"# QUESTION"`` etc.) or None."""
    if cell.get("cell_type") != "raw":
        return None
    first = source_text(cell).lstrip().split("\n", 1)[0].strip()
    for marker in sorted(MARKERS, key=len, reverse=True):
        if first.upper() == marker or first.upper().startswith(marker + " "):
            return marker
    if re.match(r"^#\s*(END\s+)?[A-Z]{4,}\s*$", first):
        return "unknown:" + first
    return None


def is_test_cell(cell):
    """Tell whether a code cell is a ``# TEST`` cell."""
    return (cell.get("cell_type") == "code"
            and source_text(cell).lstrip().split("\n", 1)[0].strip().upper() == "# TEST")


class _Parser:
    """Walks the cells once, collecting questions and problems."""

    def __init__(self):
        self.problems = []
        self.header = None
        self.cells = []
        self.questions = []
        self.open = None  # dict for the question being read

    def feed(self, number, cell):
        marker = marker_of(cell)
        handler = {"# ASSIGNMENT": self._header, "# QUESTION": self._question_start,
                   "# END QUESTION": self._question_end}.get(marker)
        if handler:
            handler(number, cell)
            self.cells.append(SourceCell("marker", cell, None, number))
        elif marker:
            self._problem(number, f"unknown marker {marker[8:]!r}; raw cells may start with "
                          "'# ASSIGNMENT', '# QUESTION' or '# END QUESTION'")
            self.cells.append(SourceCell("marker", cell, None, number))
        else:
            self._content(number, cell)

    def _problem(self, number, text, qid=None):
        where = f"cell {number}" + (f" (question {qid})" if qid else "")
        self.problems.append(f"{where}: {text}")

    def _yaml(self, number, cell, qid=None):
        body = source_text(cell).lstrip().split("\n", 1)
        try:
            data = yaml.safe_load(body[1] if len(body) > 1 else "") or {}
        except yaml.YAMLError as exc:
            self._problem(number, f"the YAML after the marker does not parse ({_yaml_msg(exc)});"
                          " write one `key: value` per line, quoting text that contains ':'",
                          qid)
            return None
        if not isinstance(data, dict):
            self._problem(number, "expected `key: value` lines after the marker", qid)
            return None
        return data

    def _header(self, number, cell):
        if self.header is not None:
            self._problem(number, f"a second '# ASSIGNMENT' cell (the first is cell "
                          f"{self.header['cell']}); keep one")
            return
        data = self._yaml(number, cell)
        if data is None:
            self.header = {"cell": number}
            return
        self._unknown_keys(number, data, HEADER_KEYS, "ASSIGNMENT")
        if not isinstance(data.get("id"), str) or not ASSIGNMENT_ID.match(data["id"]):
            self._problem(number, f"ASSIGNMENT id must be lowercase letters, digits, '-' or "
                          f"'_' (e.g. `id: ex01-what-ai-can-do`), got {data.get('id')!r}")
        if not isinstance(data.get("title"), str) or not data["title"].strip():
            self._problem(number, "ASSIGNMENT needs a `title:` (quote it if it has a ':')")
        for key, default in (("cell_timeout", 60), ("timeout", 600)):
            data[key] = self._positive(number, data, key, default, None)
        self.header = {**data, "cell": number}

    def _positive(self, number, data, key, default, qid):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            self._problem(number, f"`{key}` must be a number greater than 0, got {value!r}", qid)
            return default
        return value

    def _unknown_keys(self, number, data, allowed, what, qid=None):
        for key in sorted(set(data) - allowed, key=str):
            self._problem(number, f"unknown {what} key {key!r}; allowed keys are "
                          f"{', '.join(sorted(allowed))}", qid)

    def _question_start(self, number, cell):
        if self.open is not None:
            self._problem(number, f"a QUESTION starts before question {self.open['id']} "
                          f"(cell {self.open['cell']}) is closed; add a raw cell "
                          "'# END QUESTION' after its last cell")
            self._close(number)
        data = self._yaml(number, cell) or {}
        qid = data.get("id")
        if not isinstance(qid, str) or not ID_PATTERN.match(qid):
            self._problem(number, f"QUESTION id must match [a-z0-9_]+ (e.g. `id: q1`), got "
                          f"{qid!r}")
            qid = f"cell{number}"
        elif any(q.id == qid for q in self.questions):
            first = next(q.cell for q in self.questions if q.id == qid)
            self._problem(number, f"duplicate question id {qid!r} (first used in cell "
                          f"{first}); give each question its own id", qid)
        self._unknown_keys(number, data, QUESTION_KEYS, "QUESTION", qid)
        self.open = {**data, "id": qid, "cell": number, "checks": [], "discussion": [],
                     "answer_cells": []}

    def _question_end(self, number, cell):
        if self.open is None:
            self._problem(number, "'# END QUESTION' without an open QUESTION; remove it or "
                          "add a '# QUESTION' cell before the question's cells")
            return
        self._close(number)

    def _content(self, number, cell):
        qid = self.open["id"] if self.open else None
        text = source_text(cell)
        if is_test_cell(cell):
            role = "test"
            if qid is None:
                self._problem(number, "a '# TEST' cell outside any question; move it between "
                              "'# QUESTION' and '# END QUESTION'")
            else:
                self.open["checks"].append(self._check(number, text, qid))
        elif cell.get("cell_type") == "markdown" and text.lstrip().startswith(DISCUSSION):
            role = "discussion"
            if qid is None:
                self._problem(number, "a DISCUSSION cell outside any question; move it into "
                              "its reflection question")
            else:
                self.open["discussion"].append(text.lstrip()[len(DISCUSSION):].strip())
        elif cell.get("cell_type") == "code" and qid is not None:
            role = "answer"
            self.open["answer_cells"].append((number, text))
            self._check_solution_markers(number, text, qid)
        else:
            role = "plain"
        self.cells.append(SourceCell(role, cell, qid, number))

    def _check_solution_markers(self, number, text, qid):
        begins = sum(1 for line in text.splitlines() if line.strip() == "# BEGIN SOLUTION")
        ends = sum(1 for line in text.splitlines() if line.strip() == "# END SOLUTION")
        if begins != ends:
            self._problem(number, f"{begins} '# BEGIN SOLUTION' but {ends} '# END SOLUTION' "
                          "lines; close each solution block", qid)

    def _check(self, number, text, qid):
        lines = text.lstrip().splitlines()[1:]
        keys = {}
        for line in lines:
            match = re.match(r"^#\s*([A-Za-z_]+)\s*:\s*(.*)$", line.strip())
            if not line.strip().startswith("#") or not match:
                break
            keys[match.group(1).lower()] = match.group(2).strip()
        self._unknown_keys(number, keys, TEST_KEYS, "TEST", qid)
        test_no = len(self.open["checks"]) + 1
        points = _number(keys.get("points"))
        if points is None or points <= 0:
            self._problem(number, f"test {test_no} needs `# points: N` with N > 0 (got "
                          f"{keys.get('points')!r})", qid)
            points = 0.0
        hidden = keys.get("hidden", "false").lower()
        if hidden not in ("true", "false"):
            self._problem(number, f"`# hidden:` must be true or false, got {hidden!r}", qid)
        self._check_test_source(number, text, qid)
        return Check(name=keys.get("name") or f"test {test_no}", points=points,
                     hidden=hidden == "true", hint=keys.get("hint", ""), source=text,
                     cell=number)

    def _check_test_source(self, number, text, qid):
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            self._problem(number, f"the test does not parse: {exc.msg} (line {exc.lineno})",
                          qid)
            return
        if not any(isinstance(node, ast.FunctionDef) and node.name == "test"
                   and len(node.args.args) == 1 for node in tree.body):
            self._problem(number, "a TEST cell must define `def test(student):` (one "
                          "argument) that raises (e.g. assert) when the answer is wrong", qid)

    def _close(self, number):
        spec = self.open
        self.open = None
        kind = spec.get("kind", "code")
        if kind not in ("code", "reflection"):
            self._problem(spec["cell"], f"unknown kind {kind!r}; use `kind: code` or "
                          "`kind: reflection`", spec["id"])
            kind = "code"
        points = self._positive(spec["cell"], spec, "points", 0, spec["id"]) \
            if "points" in spec else None
        if points is None:
            self._problem(spec["cell"], "QUESTION needs `points:`", spec["id"])
            points = 0
        if kind == "code":
            self._validate_code(spec, points)
        else:
            self._validate_reflection(spec)
        manual, rubric = spec.get("manual", False), spec.get("rubric", "")
        if not isinstance(manual, bool):
            self._problem(spec["cell"], f"`manual` must be true or false, got {manual!r}",
                          spec["id"])
        if not isinstance(rubric, str):
            self._problem(spec["cell"], "`rubric` must be text (use `rubric: |` and indent "
                          "the lines below it)", spec["id"])
        self.questions.append(Question(
            id=spec["id"], points=float(points), kind=kind, checks=tuple(spec["checks"]),
            answer=spec.get("answer"), min_words=spec.get("min_words", 25),
            discussion="\n\n".join(spec["discussion"]), cell=spec["cell"],
            manual=manual is True, rubric=rubric.strip() if isinstance(rubric, str) else ""))

    def _validate_code(self, spec, points):
        qid, checks = spec["id"], spec["checks"]
        if not checks:
            self._problem(spec["cell"], "a code question needs at least one '# TEST' cell "
                          "(or `kind: reflection`)", qid)
            return
        total = sum(c.points for c in checks)
        if abs(total - points) > 1e-9:
            parts = ", ".join(f"{c.name}: {c.points:g}" for c in checks)
            self._problem(spec["cell"], f"points is {points:g} but its tests add up to "
                          f"{total:g} ({parts}); make them equal", qid)
        for key in ("answer", "min_words"):
            if key in spec:
                self._problem(spec["cell"], f"`{key}` is for reflections; remove it or set "
                              "`kind: reflection`", qid)

    def _validate_reflection(self, spec):
        qid = spec["id"]
        answer = spec.get("answer")
        if not isinstance(answer, str) or not IDENTIFIER.match(answer):
            self._problem(spec["cell"], f"a reflection needs `answer: <variable name>`, got "
                          f"{answer!r}", qid)
        elif not any(re.search(rf"^\s*{answer}\s*=", text, re.M)
                     for _, text in spec["answer_cells"]):
            self._problem(spec["cell"], f"no code cell in the question assigns `{answer} = "
                          f"...`; add `{answer} = \"\"\"...\"\"\"  # SOLUTION`", qid)
        min_words = spec.get("min_words", 25)
        if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 1:
            self._problem(spec["cell"], f"`min_words` must be a whole number >= 1, got "
                          f"{min_words!r}", qid)
        if spec["checks"]:
            self._problem(spec["checks"][0].cell, "reflections are not auto-graded; remove "
                          "the TEST cell or set `kind: code`", qid)

    def finish(self, metadata):
        if self.open is not None:
            self._problem(self.open["cell"], "QUESTION is never closed; add a raw cell "
                          "'# END QUESTION' after its last cell", self.open["id"])
            self._close(self.open["cell"])
        if self.header is None:
            self.problems.insert(0, "cell 1: the notebook has no '# ASSIGNMENT' raw cell; add "
                                 "one at the top with `id:` and `title:`")
        if not self.questions and self.header is not None:
            self.problems.append("the notebook has no '# QUESTION' cells; add at least one")
        if self.problems:
            raise FormatError(self.problems)
        h = self.header
        return Assignment(id=h["id"], title=h["title"].strip(),
                          cell_timeout=float(h["cell_timeout"]), timeout=float(h["timeout"]),
                          questions=tuple(self.questions), cells=tuple(self.cells),
                          metadata=dict(metadata),
                          late={k: str(h[k]) for k in LATE_KEYS if h.get(k) is not None})


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value else None


def _yaml_msg(exc):
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
    return f"{problem} at YAML line {mark.line + 1}" if mark else problem
