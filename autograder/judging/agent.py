"""The answering side of the student API: resolves names and calls functions in a namespace.

It runs inside the student's process: imported by the self-check :class:`~autograder.Checker`,
and sent as source into the grading kernel (with :mod:`autograder.judging.wire`) before any student
code runs. Replies are JSON text; the grader never trusts them beyond decoding plain data.
"""

import re
from json import JSONEncoder

try:
    from .wire import from_wire, to_wire
except ImportError:  # inside a grading kernel: wire's source was run in the same namespace
    pass

__all__ = ["answer"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_MESSAGE_CHARS = 500
# Bound now, so that a student who later patches the json module cannot change our replies.
_ENCODE = JSONEncoder(separators=(",", ":"), allow_nan=True).encode


def answer(namespace, request):
    """Answer one request about ``namespace`` and return the reply as JSON text.

    Parameters
    ----------
    namespace : dict
        The student's global namespace.
    request : dict
        ``{"op": "get" | "has" | "call", "name": "dotted.name", "args": [...],
        "kwargs": {...}}`` with arguments in wire form.

    Returns
    -------
    str
        ``{"ok": <wire value>}`` or ``{"error": {"kind": ..., "message": ...}}`` as JSON.
    """
    try:
        reply = {"ok": _perform(namespace, request)}
    except _Refusal as refusal:
        reply = {"error": {"kind": refusal.kind, "message": refusal.message}}
    try:
        return _ENCODE(reply)
    except (TypeError, ValueError) as exc:
        return _ENCODE({"error": {"kind": "unsupported", "message": _short(exc)}})


class _Refusal(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind, self.message = kind, message


def _perform(namespace, request):
    op, name = request.get("op"), request.get("name")
    if op not in ("get", "has", "call") or not isinstance(name, str) or not _NAME.match(name):
        raise _Refusal("bad_request", f"cannot {op!r} {name!r}")
    if op == "has":
        try:
            return _resolve(namespace, name) is not Ellipsis
        except _Refusal:
            return False
    value = _resolve(namespace, name)
    if value is Ellipsis:
        raise _Refusal("unanswered", f"`{name}` is still `...`: replace the `...` with your "
                       "answer and run the cell")
    if op == "call":
        value = _call(value, name, request)
    try:
        return to_wire(value)
    except (TypeError, ValueError) as exc:
        raise _Refusal("unsupported", f"`{name}`: {_short(exc)}") from None


def _resolve(namespace, name):
    head, *rest = name.split(".")
    if head not in namespace:
        raise _Refusal("undefined", f"`{head}` is not defined: run the cell that defines it "
                       "(or Run All) and check its spelling")
    value = namespace[head]
    for depth, attribute in enumerate(rest, start=1):
        path = ".".join([head, *rest[:depth]])
        try:
            value = getattr(value, attribute)
        except AttributeError:
            raise _Refusal("undefined", f"`{path}` does not exist: check that "
                           f"`{'.'.join([head, *rest[:depth - 1]])}` is the right object "
                           "(for a model: is it fitted?)") from None
        except BaseException as exc:
            raise _Refusal("raised", f"reading `{path}` raised {_describe(exc)}") from None
    return value


def _call(function, name, request):
    if not callable(function):
        raise _Refusal("not_callable", f"`{name}` is a {type(function).__name__}, not a "
                       "function: define it with `def`")
    try:
        args = [from_wire(a) for a in request.get("args", [])]
        kwargs = {k: from_wire(v) for k, v in request.get("kwargs", {}).items()}
    except (TypeError, ValueError) as exc:
        raise _Refusal("bad_request", f"arguments for `{name}`: {_short(exc)}") from None
    try:
        return function(*args, **kwargs)
    except BaseException as exc:  # the student's code: SystemExit and interrupts included
        raise _Refusal("raised", f"calling `{name}` raised {_describe(exc)}") from None


def _describe(exc):
    text = _short(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _short(exc):
    try:
        text = str(exc)
    except BaseException:
        text = ""
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + "..."
