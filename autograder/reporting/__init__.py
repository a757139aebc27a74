"""Reporting: result data and atomic writing (``results``), and what people read (``report``).

Depends on :mod:`autograder.judging` and :mod:`autograder.sandbox` for the shapes it records.
"""
