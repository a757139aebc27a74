"""The ``student`` object that tests receive: it hands back plain data, never live objects."""

import re

from . import agent, wire
from ..exceptions import (AnswerMissingError, PlainDataError, QueryError, StudentCodeError)

__all__ = ["Student", "LocalStudent"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_MESSAGE_CHARS = 500
_ERRORS = {"undefined": AnswerMissingError, "unanswered": AnswerMissingError,
           "raised": StudentCodeError, "not_callable": StudentCodeError,
           "unsupported": PlainDataError}


class Student:
    """Ask the student's work for plain data.

    Subclasses implement :meth:`_ask`, sending one request and returning the reply text.
    """

    def get(self, name):
        """Return the value of the variable or dotted attribute ``name`` as plain data.

        Parameters
        ----------
        name : str
            E.g. ``"accuracy"`` or ``"model.n_features_in_"``.

        Raises
        ------
        AnswerMissingError
            If it is undefined or still ``...``; the message tells the student what to do.
        PlainDataError
            If the value is not plain data (an object of another class).
        QueryError
            If no valid answer came back.
        """
        return self._request("get", name)

    def has(self, name):
        """Return True when ``name`` is defined and answered (not ``...``)."""
        value = self._request("has", name)
        if type(value) is not bool:
            raise QueryError(f"the answer to has({name!r}) is not a bool")
        return value

    def call(self, name, *args, **kwargs):
        """Call the student's function or method ``name`` and return its result as plain data.

        Parameters
        ----------
        name : str
            E.g. ``"area"`` or ``"model.predict"``.
        *args, **kwargs
            Plain-data arguments chosen by the test.

        Raises
        ------
        StudentCodeError
            If the student's code raised; the message carries its exception.
        AnswerMissingError, PlainDataError, QueryError
            As for :meth:`get`.
        """
        return self._request("call", name, args, kwargs)

    def _request(self, op, name, args=(), kwargs=None):
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"name must be a variable name or dotted path like "
                             f"'model.predict', got {name!r}")
        request = {"op": op, "name": name, "args": [wire.to_wire(a) for a in args],
                   "kwargs": {k: wire.to_wire(v) for k, v in (kwargs or {}).items()}}
        return decode_reply(self._ask(request))

    def _ask(self, request):
        raise NotImplementedError


def decode_reply(text):
    """Turn reply text into a plain value, or raise the error it reports.

    Parameters
    ----------
    text : str
        JSON ``{"ok": <wire value>}`` or ``{"error": {"kind": str, "message": str}}``.

    Raises
    ------
    AnswerMissingError, StudentCodeError, PlainDataError
        As reported by the student's side.
    QueryError
        If the reply is malformed.
    """
    try:
        reply = wire.parse(text)
        if type(reply) is not dict or len(reply) != 1:
            raise ValueError("the reply must hold exactly one of 'ok' or 'error'")
        if "ok" in reply:
            return wire.from_wire(reply["ok"])
        error = reply.get("error")
        if type(error) is not dict or type(error.get("kind")) is not str \
                or type(error.get("message")) is not str:
            raise ValueError("the error in the reply is malformed")
    except ValueError as exc:
        raise QueryError(f"the notebook's answer could not be read: {exc}") from None
    message = error["message"][:_MESSAGE_CHARS]
    raise _ERRORS.get(error["kind"], QueryError)(message)


class LocalStudent(Student):
    """A student whose namespace lives in this process (used by the self-check).

    Values still go through the wire format, so self-checks see exactly the plain data the
    grader will see.

    Parameters
    ----------
    namespace : dict
        The notebook's global namespace.
    """

    def __init__(self, namespace):
        self.namespace = namespace

    def _ask(self, request):
        return agent.answer(self.namespace, request)
