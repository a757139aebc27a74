"""The authoring-format parser: every validation error names the cell, question and fix."""

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from autograder.exceptions import FormatError
from autograder.authoring.source import parse_source

HEADER = '# ASSIGNMENT\nid: demo\ntitle: "Demo"'
TEST = "# TEST\n# points: {points}\ndef test(student):\n    assert student.get('x') == 1"


def notebook(*cells):
    made = []
    for cell in cells:
        kind, text = cell
        made.append({"raw": new_raw_cell, "code": new_code_cell,
                     "md": new_markdown_cell}[kind](text))
    return new_notebook(cells=made)


def good(*extra):
    return notebook(("raw", HEADER), ("raw", "# QUESTION\nid: q1\npoints: 1"),
                    ("code", "x = 1  # SOLUTION"), ("code", TEST.format(points=1)),
                    ("raw", "# END QUESTION"), *extra)


def problems_of(nb):
    with pytest.raises(FormatError) as info:
        parse_source(nb)
    return info.value.problems


def test_a_valid_source_parses():
    assignment = parse_source(good())
    assert (assignment.id, assignment.points, assignment.cell_timeout) == ("demo", 1.0, 60.0)
    check = assignment.question("q1").checks[0]
    assert (check.name, check.points, check.hidden, check.cell) == ("test 1", 1.0, False, 4)


@pytest.mark.parametrize("cells, expected", [
    ([("raw", "# QUESTION\nid: q1\npoints: 1"), ("code", TEST.format(points=1)),
      ("raw", "# END QUESTION")],
     "cell 6 (question q1): duplicate question id 'q1' (first used in cell 2)"),
    ([("raw", "# QUESTION\nid: q2\npoints: 1"), ("code", "y = 2"), ("raw", "# END QUESTION")],
     "cell 6 (question q2): a code question needs at least one '# TEST' cell"),
    ([("raw", "# QUESTION\nid: q2\npoints: 1"), ("code", "# TEST\ndef test(student):\n    pass"),
      ("raw", "# END QUESTION")],
     "cell 7 (question q2): test 1 needs `# points: N` with N > 0"),
    ([("raw", "# QUESTION\nid: q2\npoints: 3"), ("code", TEST.format(points=1)),
      ("raw", "# END QUESTION")],
     "cell 6 (question q2): points is 3 but its tests add up to 1 (test 1: 1); make them equal"),
    ([("raw", "# QUESTION\nid: q2\npoints: 1"), ("code", TEST.format(points=1))],
     "cell 6 (question q2): QUESTION is never closed; add a raw cell '# END QUESTION'"),
    ([("raw", "# QUESTION\nid: q2\npoints: 1\nkind: essay"), ("code", TEST.format(points=1)),
      ("raw", "# END QUESTION")],
     "cell 6 (question q2): unknown kind 'essay'; use `kind: code` or `kind: reflection`"),
    ([("raw", "# QUESTION\nid: q2\npoints: [1"), ("raw", "# END QUESTION")],
     "cell 6: the YAML after the marker does not parse"),
    ([("raw", "# QUESTION\nid: q2\npoints: 1"), ("code", "# TEST\n# points: 1\nx = 1"),
      ("raw", "# END QUESTION")],
     "cell 7 (question q2): a TEST cell must define `def test(student):`"),
    ([("raw", "# QUESTON\nid: q2")], "cell 6: unknown marker '# QUESTON'"),
    ([("code", TEST.format(points=1))], "cell 6: a '# TEST' cell outside any question"),
    ([("raw", "# QUESTION\nid: q2\npoints: 1\nkind: reflection"), ("raw", "# END QUESTION")],
     "cell 6 (question q2): a reflection needs `answer: <variable name>`"),
])
def test_each_problem_names_cell_question_and_fix(cells, expected):
    found = problems_of(good(*cells))
    assert any(p.startswith(expected) for p in found), found


def test_missing_header_and_all_problems_at_once():
    nb = good()
    nb.cells.pop(0)
    nb.cells.append(new_raw_cell("# END QUESTION"))
    found = problems_of(nb)
    assert found[0].startswith("cell 1: the notebook has no '# ASSIGNMENT' raw cell")
    assert any("'# END QUESTION' without an open QUESTION" in p for p in found)


def test_reflection_with_discussion():
    nb = good(("raw", "# QUESTION\nid: r1\npoints: 1\nkind: reflection\nanswer: essay\n"
                      "min_words: 5"),
              ("code", 'essay = """Write your answer here."""  # SOLUTION'),
              ("md", "<!-- DISCUSSION -->\nOur view."), ("raw", "# END QUESTION"))
    question = parse_source(nb).question("r1")
    assert (question.answer, question.min_words, question.discussion) == ("essay", 5, "Our view.")


def test_error_message_lists_every_problem():
    error = FormatError(["cell 2: a", "cell 3: b"])
    assert str(error) == "the source notebook has 2 problems:\n- cell 2: a\n- cell 3: b"
    assert isinstance(error, ValueError)
