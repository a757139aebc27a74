"""Solution stubbing."""

import pytest

from autograder.exceptions import FormatError
from autograder.authoring.stubs import stub_solutions


def test_blocks_lines_and_multiline_strings():
    source = ('def f(a):\n    """Doc."""\n    # BEGIN SOLUTION\n    return a + 1\n'
              '    # END SOLUTION\nx = 3 * 4  # SOLUTION\nr = """long\ntext"""  # SOLUTION\n'
              "%matplotlib inline")
    assert stub_solutions(source) == (
        'def f(a):\n    """Doc."""\n    # YOUR CODE HERE\n    ...\n'
        "x = ...  # YOUR ANSWER HERE\nr = ...  # YOUR ANSWER HERE\n%matplotlib inline")


def test_solution_mark_on_a_non_assignment_is_an_error():
    with pytest.raises(FormatError, match="cell 3, line 1: '# SOLUTION' marks a line"):
        stub_solutions("print(3)  # SOLUTION", where="cell 3")
