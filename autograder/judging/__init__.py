"""Judging: run one test against a student, in the notebook (self-check) or in the grader.

``wire``, ``agent`` and ``student`` are the plain-data protocol between tests and the student's
code; ``judge`` runs a test; ``checker`` is the self-check embedded in student notebooks.
Depends on :mod:`autograder.authoring`.
"""
