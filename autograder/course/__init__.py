"""The course workflow around grading: LMS archives and rosters in, grades out, manual review,
similar answers and feedback release.

The top stage beside :mod:`autograder.assign`: it may import every stage below it.
"""
