"""Late work: a deadline, a grace period and a penalty policy, applied to a result.

A policy is given on the command line (``--deadline``, ``--grace``, ``--late-penalty``,
``--late-cap``, ``--late-cutoff``) or in the source notebook's ``# ASSIGNMENT`` cell
(``deadline:``, ``grace:``, ``late_penalty:``, ``late_cap:``, ``late_cutoff:``); the command
line overrides the notebook. The arithmetic::

    days late = started days after deadline + grace      (0 when on time)
    penalty   = days late x per-day penalty, at most the cap
    score     = 0 when submitted later than deadline + grace + cutoff

A per-day penalty is a percentage of the assignment's maximum (``10%``) or points (``2``).
Times without a time zone (as Moodle's grading worksheet writes them) are read in the
deadline's time zone.
"""

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ..exceptions import UsageError

__all__ = ["LatePolicy", "parse_policy", "policy_from", "parse_time", "read_times", "apply_late",
           "POLICY_KEYS"]

POLICY_KEYS = ("deadline", "grace", "late_penalty", "late_cap", "late_cutoff")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|h|m|days?|hours?|min(?:ute)?s?)\s*$", re.I)
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|pts?|points?)?\s*(?:/\s*day)?\s*$", re.I)
_MOODLE_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M",
                   "%d %B %Y, %H:%M")


@dataclass(frozen=True)
class LatePolicy:
    """When work is due and what lateness costs.

    Attributes
    ----------
    deadline : datetime
        With a time zone.
    grace : timedelta
        Added to the deadline before a submission counts as late.
    per_day : float
        Penalty per started day late, in ``unit``.
    unit : str
        ``"%"`` (of the assignment's maximum) or ``"points"``.
    cap : float or None
        Largest total penalty, in ``unit``; None for no cap.
    cutoff : timedelta or None
        After deadline + grace + cutoff the score is 0; None for no cutoff.
    """

    deadline: datetime
    grace: timedelta = timedelta(0)
    per_day: float = 0.0
    unit: str = "%"
    cap: float = None
    cutoff: timedelta = None

    def describe(self):
        """The policy in one sentence, for result files and feedback pages."""
        unit = "% of the maximum" if self.unit == "%" else " points"
        parts = [f"due {self.deadline.isoformat(timespec='minutes')}"]
        if self.grace:
            parts.append(f"{_duration_text(self.grace)} grace")
        if self.per_day:
            parts.append(f"{self.per_day:g}{unit} off per started day late")
        if self.cap is not None:
            parts.append(f"at most {self.cap:g}{unit} off")
        if self.cutoff is not None:
            parts.append(f"0 points if more than {_duration_text(self.cutoff)} late")
        return "; ".join(parts)

    def assess(self, submitted, maximum, raw):
        """The ``Result.late`` record for work submitted at ``submitted``, or None if on time.

        Parameters
        ----------
        submitted : datetime
        maximum : float
            The assignment's maximum (a percentage penalty is of this).
        raw : float
            The score before the penalty (kept for callers; the penalty does not depend on it,
            so manual scores given later are penalised alike).
        """
        submitted = _aware(submitted, self.deadline.tzinfo)
        overdue = submitted - (self.deadline + self.grace)
        if overdue <= timedelta(0):
            return None
        days = math.ceil(overdue / timedelta(days=1))
        scale = maximum / 100 if self.unit == "%" else 1.0
        penalty = days * self.per_day * scale
        if self.cap is not None:
            penalty = min(penalty, self.cap * scale)
        if self.cutoff is not None and overdue > self.cutoff:
            penalty = maximum  # any score, manual ones given later included, becomes 0
        return {"deadline": self.deadline.isoformat(), "submitted_at": submitted.isoformat(),
                "days_late": days, "penalty": round(float(penalty), 6),
                "policy": self.describe()}


def parse_policy(deadline, grace=None, penalty=None, cap=None, cutoff=None, *, where="--"):
    """Build a :class:`LatePolicy` from text such as the command line gives.

    Parameters
    ----------
    deadline : str
        ISO 8601 with a time zone, e.g. ``2026-12-01T23:59+01:00`` or ``...Z``.
    grace, cutoff : str, optional
        Durations: ``15m``, ``2h``, ``1d``, ``7 days``.
    penalty, cap : str, optional
        ``10%`` (of the maximum, per day), ``10%/day``, ``2`` or ``2pts`` (points per day).
    where : str
        How the values were given (``--`` for options, or a notebook's name), for errors.

    Raises
    ------
    UsageError
        Naming the value, what was expected and an example.
    """
    when = parse_time(deadline, None, what=_name(where, "deadline"))
    if when.tzinfo is None:
        raise UsageError(f"{_name(where, 'deadline')} {deadline!r} has no time zone; add one, "
                         "e.g. 2026-12-01T23:59+01:00 or 2026-12-01T22:59Z")
    per_day, unit = _amount(penalty, _name(where, "late-penalty")) if penalty else (0.0, "%")
    cap_value = None
    if cap:
        cap_value, cap_unit = _amount(cap, _name(where, "late-cap"))
        if cap_unit != unit:
            raise UsageError(f"{_name(where, 'late-cap')} {cap!r} and "
                             f"{_name(where, 'late-penalty')} {penalty!r} use different units; "
                             "give both in % or both in points")
    return LatePolicy(when, _duration(grace, _name(where, "grace")) if grace else timedelta(0),
                      per_day, unit, cap_value,
                      _duration(cutoff, _name(where, "late-cutoff")) if cutoff else None)


def policy_from(given, where, **overrides):
    """The policy from a notebook's header ``given`` with command-line ``overrides`` on top.

    Parameters
    ----------
    given : dict
        ``{"deadline", "grace", "late_penalty", "late_cap", "late_cutoff"}`` (any subset).
    where : str
        The source of ``given`` (e.g. the bundle's file name), for errors.
    **overrides
        ``deadline``, ``grace``, ``penalty``, ``cap``, ``cutoff`` from the command line; None
        keeps the header's value.

    Returns
    -------
    LatePolicy or None
        None when neither gives a deadline.
    """
    values = {"deadline": given.get("deadline"), "grace": given.get("grace"),
              "penalty": given.get("late_penalty"), "cap": given.get("late_cap"),
              "cutoff": given.get("late_cutoff")}
    values.update({k: v for k, v in overrides.items() if v is not None})
    if not values["deadline"]:
        extra = sorted(k for k, v in values.items() if v)
        if extra:
            raise UsageError(f"{where}: a late policy ({', '.join(extra)}) needs a deadline; "
                             "give --deadline 2026-12-01T23:59+01:00 or `deadline:` in the "
                             "# ASSIGNMENT cell")
        return None
    cli = all(k in overrides and overrides[k] is not None for k in ("deadline",))
    return parse_policy(**values, where="--" if cli else where)


def parse_time(text, tz, *, what="time"):
    """A submission time: ISO 8601, or Moodle's ``Tuesday, 24 November 2026, 3:15 PM``.

    A time without a zone gets ``tz`` (left naive when ``tz`` is None).
    """
    text = str(text).strip()
    value = None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        for pattern in _MOODLE_FORMATS:
            try:
                value = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if value is None:
        raise UsageError(f"{what} {text!r} is not a date and time; write ISO 8601, e.g. "
                         "2026-12-01T23:59+01:00")
    return _aware(value, tz) if tz is not None else value


def read_times(path, tz=None):
    """``{student id: ISO 8601 time}`` from a CSV with columns ``student,submitted_at``.

    Raises
    ------
    UsageError
        For a missing file or column, or a bad time (naming file and line).
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            fields = set(rows[0]) if rows else set()
    except OSError as exc:
        raise UsageError(f"cannot read the times file {path} ({exc.strerror})") from None
    missing = {"student", "submitted_at"} - fields
    if missing:
        raise UsageError(f"{path}: needs the columns student and submitted_at (missing: "
                         f"{', '.join(sorted(missing))}); the first line should be "
                         "`student,submitted_at`")
    times = {}
    for line, row in enumerate(rows, start=2):
        student = (row.get("student") or "").strip()
        if not student:
            raise UsageError(f"{path}, line {line}: the student column is empty; fill it in "
                             "or delete the line")
        times[student] = parse_time(row["submitted_at"], tz,
                                    what=f"{path}, line {line}:").isoformat()
    return times


def apply_late(result, policy, submitted_at, marked_late=False, on_time=False):
    """Fill ``result.submitted_at`` and ``result.late`` under ``policy`` and rescore it.

    A result without a known time is left unpenalised with a note saying so (never a silent
    zero), and so is one the LMS marked late when no policy or time is known. ``on_time``:
    the LMS would have marked it late, and did not.
    """
    result.submitted_at = submitted_at
    result.late = None
    if policy is not None and submitted_at:
        result.rescore()
        result.late = policy.assess(datetime.fromisoformat(submitted_at), result.max,
                                    result.raw_score)
    elif policy is not None and on_time:
        pass
    elif policy is not None:
        result.notes.append("no submission time is known for this student, so no late "
                            "penalty was applied; give the times with --times FILE.csv")
    elif marked_late:
        result.notes.append("the LMS marked this submission late; no late policy was given, "
                            "so no penalty was applied")
    return result.rescore()


def _aware(value, tz):
    return value.replace(tzinfo=tz) if value.tzinfo is None and tz is not None else value


def _amount(text, what):
    match = _AMOUNT.match(str(text))
    if not match:
        raise UsageError(f"{what} {text!r} is not an amount; write e.g. 10% (of the maximum) "
                         "or 2pts (points)")
    return float(match.group(1)), "%" if match.group(2) == "%" else "points"


def _duration(text, what):
    match = _DURATION.match(str(text))
    if not match:
        raise UsageError(f"{what} {text!r} is not a duration; write e.g. 15m, 2h or 7d")
    unit = match.group(2).lower()[0]
    return timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]:
                        float(match.group(1))})


def _duration_text(delta):
    minutes = delta.total_seconds() / 60
    if minutes % 1440 == 0:
        return f"{minutes / 1440:g} day{'s' if minutes != 1440 else ''}"
    if minutes % 60 == 0:
        return f"{minutes / 60:g} hour{'s' if minutes != 60 else ''}"
    return f"{minutes:g} minutes"


def _name(where, option):
    return f"--{option}" if where == "--" else f"{where}: {option.replace('-', '_')}"

