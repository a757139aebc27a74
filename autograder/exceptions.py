"""Every error the autograder raises on purpose.

Each class also inherits the built-in exception it resembles, so callers may catch either.
Messages name the thing that is wrong, what was expected and what to do about it.
"""

__all__ = [
    "AutograderError",
    "FormatError",
    "BundleError",
    "SubmissionError",
    "PlainDataError",
    "AnswerMissingError",
    "StudentCodeError",
    "QueryError",
    "VerificationError",
    "SandboxError",
    "UsageError",
]


class AutograderError(Exception):
    """Base class of the autograder's own errors."""


class FormatError(AutograderError, ValueError):
    """The exercise source notebook breaks the authoring format.

    Parameters
    ----------
    problems : list of str
        One message per problem found, each naming the cell and the fix.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        count = len(self.problems)
        head = "the source notebook has 1 problem" if count == 1 else (
            f"the source notebook has {count} problems")
        super().__init__(head + ":\n" + "\n".join(f"- {p}" for p in self.problems))


class BundleError(AutograderError, ValueError):
    """The grading bundle is missing, unreadable or of an unknown format."""


class SubmissionError(AutograderError, ValueError):
    """A submission cannot be read as a notebook (bad JSON, not a notebook, too old...)."""


class PlainDataError(AutograderError, TypeError):
    """A value is not plain data (None, bool, int, float, str, list, dict, array, frame)."""


class AnswerMissingError(AutograderError, LookupError):
    """The student's answer is undefined or still ``...``; the message tells them what to do."""


class StudentCodeError(AutograderError, RuntimeError):
    """Calling the student's function raised; the message carries their exception."""


class QueryError(AutograderError, RuntimeError):
    """The student's kernel gave no valid answer (timeout, crash, bad or forged reply)."""


class VerificationError(AutograderError, RuntimeError):
    """`autograder assign` found that the reference or the blank notebook grades wrongly."""


class UsageError(AutograderError, ValueError):
    """A command-line value or input file (roster, archive, times, scores) cannot be used."""


class SandboxError(AutograderError, OSError):
    """A kernel could not be started inside its sandbox."""
