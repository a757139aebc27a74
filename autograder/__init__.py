"""Grade Jupyter notebook exercises without trusting the student's process.

Students use :class:`Checker` (embedded in their notebook) and :func:`matches_hash`.
Instructors use the ``autograder`` command, or :func:`assign` and :func:`grade`.
"""

from .checker import Checker
from .hashing import answer_hash, matches_hash

__all__ = ["Checker", "matches_hash", "answer_hash", "assign", "grade", "read_bundle",
           "GradeOptions", "parse_source"]

_LAZY = {"assign": ("assign", "assign"), "grade": ("grade", "grade"),
         "GradeOptions": ("grade", "GradeOptions"), "read_bundle": ("bundle", "read_bundle"),
         "parse_source": ("source", "parse_source")}


def __getattr__(name):
    # Instructor tools pull in jupyter_client and matplotlib: import them only when used,
    # so that `from autograder import Checker` stays quick in students' notebooks.
    if name not in _LAZY:
        raise AttributeError(f"module 'autograder' has no attribute {name!r}")
    from importlib import import_module
    module, attribute = _LAZY[name]
    return getattr(import_module(f".{module}", __name__), attribute)
