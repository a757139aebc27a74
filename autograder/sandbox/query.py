"""Ask a grading kernel for plain data, trusting nothing it does.

Before any student code runs, :func:`bootstrap` installs an answering function in the kernel
(the source of :mod:`autograder.judging.wire` and :mod:`autograder.judging.agent`, run with a private copy of
the builtins and with json and base64 functions bound at that moment) as a module under a
random name. A query is then an ``execute_request`` with *empty* code and one
``user_expression`` calling that function with a fresh random nonce: empty code never reaches
IPython's input transformers and user expressions bypass them, so a student's transformers,
hooks or patched modules cannot rewrite it. The reply must be ``'<nonce>:<base64>'`` text
under the nonce's key in the execute reply; anything else is "no answer". A student can at
most choose the values of their own answers, which the tests, running here, then judge.
"""

import base64
import binascii
import json
import re
import secrets
from pathlib import Path

from ..exceptions import QueryError
from ..judging.student import Student

__all__ = ["bootstrap", "KernelStudent"]

_JUDGING = Path(__file__).parents[1] / "judging"
_BOOT = """
def _autograder_boot(wire_source, agent_source, token, inbox):
    import builtins, os, shutil, sys, types
    try:
        import numpy  # now, while the process is still clean: later imports may be sabotaged
    except ImportError:
        pass
    if os.path.isdir(inbox):  # the submission's data files, read-only: copy them beside it
        shutil.copytree(inbox, ".", dirs_exist_ok=True, symlinks=True)
    from base64 import b64decode, b64encode
    from json import loads
    namespace = {"__builtins__": dict(builtins.__dict__), "__name__": "autograder_agent"}
    exec(compile(wire_source, "<autograder wire>", "exec"), namespace)
    exec(compile(agent_source, "<autograder agent>", "exec"), namespace)
    answer, user_ns = namespace["answer"], get_ipython().user_ns

    def query(nonce, request):
        reply = answer(user_ns, loads(b64decode(request)))
        return nonce + ":" + b64encode(reply.encode("utf-8")).decode("ascii")

    module = types.ModuleType(token)
    module.query = query
    sys.modules[token] = module

_autograder_boot(@WIRE@, @AGENT@, @TOKEN@, @INBOX@)
del _autograder_boot
"""


def bootstrap(session, timeout=30.0):
    """Install the answering function in a fresh kernel; return the module name to call.

    It also copies the submission's data files from the kernel's read-only inbox into its
    working folder, as the kernel's own user.

    Raises
    ------
    QueryError
        If the kernel fails to run the bootstrap.
    """
    token = "_autograder_" + secrets.token_hex(8)
    values = {"@WIRE@": (_JUDGING / "wire.py").read_text(),
              "@AGENT@": (_JUDGING / "agent.py").read_text(), "@TOKEN@": token,
              "@INBOX@": str(session.process.inside_inbox)}
    code = re.sub("|".join(values), lambda m: repr(values[m.group(0)]), _BOOT)
    result = session.execute(code, timeout, silent=True)
    if result.status != "ok":
        raise QueryError(f"the grading kernel could not be prepared ({result.status}: "
                         f"{result.ename} {result.evalue})")
    return token


class KernelStudent(Student):
    """The ``student`` of grading: every question goes to the submission's kernel.

    Parameters
    ----------
    session : KernelSession
        The kernel that ran the submission.
    token : str
        The module name returned by :func:`bootstrap`.
    timeout : float
        Seconds allowed per query (the student's function may be slow or loop).
    on_output : callable, optional
        Called as ``on_output(name, size)`` when answering about ``name`` printed more than
        the output cap (the excess was discarded).
    """

    def __init__(self, session, token, timeout, on_output=None):
        self.session, self.token, self.timeout = session, token, timeout
        self.on_output = on_output

    def _ask(self, request):
        if not self.session.alive:
            raise QueryError("the notebook's kernel is not running (it crashed earlier), so "
                             "this answer could not be read")
        nonce = secrets.token_hex(16)
        payload = base64.b64encode(json.dumps(request).encode()).decode("ascii")
        expression = (f"__import__('sys').modules[{self.token!r}]"
                      f".query({nonce!r}, {payload!r})")
        result = self.session.execute("", self.timeout, silent=True,
                                      user_expressions={nonce: expression})
        if result.truncated and self.on_output is not None:
            self.on_output(request["name"], result.output_bytes)
        if result.status in ("timeout", "stuck"):
            raise QueryError(f"the notebook took longer than {self.timeout:g} s to answer "
                             f"about `{request['name']}` (an endless loop?)")
        if result.status == "dead":
            raise QueryError(f"the notebook's kernel crashed while answering about "
                             f"`{request['name']}`")
        return extract_reply(result.reply, nonce)


_REPLY = re.compile(r"^'([0-9a-f]{32}):([A-Za-z0-9+/]*={0,2})'$")


def extract_reply(content, nonce):
    """Pull the reply text for ``nonce`` out of an execute_reply's content, strictly.

    Raises
    ------
    QueryError
        If the reply is missing, malformed, or carries another nonce.
    """
    expressions = content.get("user_expressions") if isinstance(content, dict) else None
    entry = expressions.get(nonce) if isinstance(expressions, dict) else None
    data = entry.get("data") if isinstance(entry, dict) else None
    text = data.get("text/plain") if isinstance(data, dict) else None
    if not isinstance(entry, dict) or entry.get("status") != "ok" or not isinstance(text, str):
        detail = entry.get("ename", "") if isinstance(entry, dict) else ""
        raise QueryError("the notebook gave no answer" + (f" ({detail})" if detail else "")
                         + "; was the kernel's state changed by a cell?")
    match = _REPLY.match(text)
    if not match or not secrets.compare_digest(match.group(1), nonce):
        raise QueryError("the notebook's answer was malformed or forged")
    try:
        return base64.b64decode(match.group(2), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise QueryError("the notebook's answer was malformed") from None
