"""Grading: read submissions and grade a batch of them, each in its own sandboxed kernel.

Depends on every stage below it; only the verbs (``assign``, the course workflow) and the
command line import it.
"""
