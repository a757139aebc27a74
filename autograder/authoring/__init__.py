"""Authoring: the exercise source format, the student's stubs and the private grading bundle.

The lowest stage: it depends only on :mod:`autograder.exceptions`.
"""
