"""Grade Jupyter notebook exercises without trusting the student's process.

Students use :class:`Checker` (embedded in their notebook) and :func:`matches_hash`.
Instructors use the ``autograder`` command, or :func:`autograder.assign.assign` and
:func:`autograder.grading.grade.grade`. Only light modules are imported here, so that
``from autograder import Checker`` stays quick in students' notebooks.
"""

from .judging.checker import Checker
from .judging.hashing import answer_hash, matches_hash

__all__ = ["Checker", "matches_hash", "answer_hash"]
