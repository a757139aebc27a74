"""Replace solutions by stubs: what turns the author's answer cells into the student's."""

import ast
import re

from ..exceptions import FormatError

__all__ = ["stub_solutions"]

_LINE_MARK = re.compile(r"#\s*SOLUTION\s*$")
_SIMPLE = re.compile(r"^(\s*)([^=#]+?)\s*=(?!=)")


def stub_solutions(text, *, where="a cell"):
    """Return the student version of an answer cell's source.

    Lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` become ``# YOUR CODE HERE`` and
    ``...`` at the block's indentation; a statement ``name = expr  # SOLUTION`` (which may span
    lines, like a triple-quoted string) becomes ``name = ...  # YOUR ANSWER HERE``.

    Parameters
    ----------
    text : str
        Source of the answer cell.
    where : str, default="a cell"
        Used in error messages, e.g. ``"cell 7 (question q2)"``.

    Raises
    ------
    FormatError
        If a ``# SOLUTION`` line is not an assignment.
    """
    return _stub_lines(_stub_blocks(text), where)


def _stub_blocks(text):
    out, inside = [], False
    for line in text.split("\n"):
        mark = line.strip()
        if mark == "# BEGIN SOLUTION":
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}..."]
            inside = True
        elif mark == "# END SOLUTION":
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _stub_lines(text, where):
    lines = text.split("\n")
    marked = [i + 1 for i, line in enumerate(lines)
              if _LINE_MARK.search(line) and not line.strip().startswith("#")]
    if not marked:
        return text
    spans = _assignment_spans(text, marked, where)
    for first, last, target, indent in sorted(spans, reverse=True):
        lines[first - 1:last] = [f"{indent}{target} = ...  # YOUR ANSWER HERE"]
    return "\n".join(lines)


def _assignment_spans(text, marked, where):
    masked = "\n".join("#" if line.lstrip().startswith(("%", "!")) else line
                       for line in text.split("\n"))
    try:
        tree = ast.parse(masked)
    except SyntaxError:
        tree = None
    spans = []
    for lineno in marked:
        span = _span_from_ast(tree, text, lineno) if tree else None
        span = span or _span_from_line(text.split("\n")[lineno - 1], lineno)
        if span is None:
            raise FormatError([f"{where}, line {lineno}: '# SOLUTION' marks a line of the form "
                               "`name = value`; use '# BEGIN SOLUTION'/'# END SOLUTION' for "
                               "other code"])
        spans.append(span)
    return spans


def _span_from_ast(tree, text, lineno):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.end_lineno == lineno:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            target = " = ".join(ast.get_source_segment(text, t) for t in targets)
            line = text.split("\n")[node.lineno - 1]
            return node.lineno, lineno, target, line[: len(line) - len(line.lstrip())]
    return None


def _span_from_line(line, lineno):
    match = _SIMPLE.match(line)
    if not match:
        return None
    return lineno, lineno, match.group(2).strip(), match.group(1)
