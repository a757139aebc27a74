"""Talk to one sandboxed kernel: run cells under a timeout and evaluate query expressions."""

import os
import re
import stat
import time
from dataclasses import dataclass, field

import zmq
from jupyter_client.session import Session
from nbformat.v4 import new_output, output_from_msg

from ..exceptions import SandboxError

__all__ = ["KernelSession", "Execution"]

MAX_MESSAGE = 64 * 1024 ** 2
OUTPUT_CAP = 1024 ** 2
KEPT_OUTPUT = 256 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TRACEBACK_CHARS = 3000


@dataclass
class Execution:
    """What happened when code ran.

    Attributes
    ----------
    status : str
        ``ok``, ``error`` (an exception), ``timeout`` (interrupted), ``stuck`` (did not stop
        when interrupted), or ``dead`` (the kernel process ended).
    ename, evalue, traceback : str
        The exception, for ``error``.
    output_bytes : int
        Output produced (streams and displays), counted even past the cap.
    truncated : bool
        True when output went past :data:`OUTPUT_CAP` and the rest was discarded.
    reply : dict
        The execute_reply content (for queries).
    seconds : float
        Wall time.
    outputs : list of dict
        The outputs in nbformat 4 form, for the student's executed notebook; kept up to
        :data:`KEPT_OUTPUT` characters (a note output says when more was dropped).
    """

    status: str
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    output_bytes: int = 0
    truncated: bool = False
    reply: dict = field(default_factory=dict, repr=False)
    seconds: float = 0.0
    outputs: list = field(default_factory=list, repr=False)


class KernelSession:
    """A minimal Jupyter client for a :class:`~autograder.sandbox.launch.KernelProcess`.

    It speaks the messaging protocol over two ZeroMQ sockets (shell and iopub) with
    ``jupyter_client.session.Session`` for signing and parsing, and caps inbound message size.

    Parameters
    ----------
    process : KernelProcess
        The started kernel.
    startup_timeout : float, default=60
        Seconds to wait for the kernel to answer.
    """

    def __init__(self, process, startup_timeout=60.0):
        self.process = process
        info = process.connection
        self.session = Session(key=info["key"].encode(), signature_scheme=info["signature_scheme"],
                               username="autograder")
        self._anchors = []
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        self.context.setsockopt(zmq.LINGER, 0)
        self.shell = self.context.socket(zmq.DEALER)
        self.iopub = self.context.socket(zmq.SUB)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)
        deadline = time.monotonic() + startup_timeout
        try:
            self.shell.connect(self._anchor(f"{info['ip']}-{info['shell_port']}", deadline))
            self.iopub.connect(self._anchor(f"{info['ip']}-{info['iopub_port']}", deadline))
            self._wait_ready(deadline - time.monotonic())
        except BaseException:
            self._close_sockets()
            raise

    @property
    def alive(self):
        """True while the kernel process runs."""
        return self.process.alive

    def _anchor(self, path, deadline):
        """An ``ipc://`` address that always means the socket the kernel made at ``path``.

        The socket lives in a folder the kernel can write. Once it is there (and before any
        student code runs) the grader holds it open with ``O_PATH | O_NOFOLLOW`` and connects
        through ``/proc/self/fd``, so ZeroMQ's reconnects never follow a symlink the student
        puts in its place later.
        """
        while True:
            try:
                fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                fd = None
            if fd is not None:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    self._anchors.append(fd)
                    return f"ipc:///proc/self/fd/{fd}"
                os.close(fd)
                raise SandboxError(f"the kernel's socket {path} is not a socket")
            if not self.process.alive:
                raise SandboxError(f"the kernel exited while starting "
                                   f"({self.process.exit_description()}): "
                                   f"{self.process.stderr_tail()}")
            if time.monotonic() > deadline:
                raise SandboxError(f"the kernel did not start within the time limit: "
                                   f"{self.process.stderr_tail()}")
            time.sleep(0.01)

    def _send(self, msg_type, content):
        return self.session.send(self.shell, msg_type, content)["header"]["msg_id"]

    def _receive(self, socket):
        """Every message waiting on ``socket`` that is correctly signed and parses."""
        messages = []
        while True:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return messages
            try:
                _, frames = self.session.feed_identities(frames, copy=True)
                messages.append(self.session.deserialize(frames, content=True, copy=True))
            except Exception:  # unsigned, forged or malformed: ignore it
                continue

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive:
                raise SandboxError(f"the kernel exited while starting "
                                   f"({self.process.exit_description()}): "
                                   f"{self.process.stderr_tail()}")
            msg_id = self._send("kernel_info_request", {})
            if self._ready(msg_id, time.monotonic() + 1.0):
                return
        raise SandboxError(f"the kernel did not answer within {timeout:g} s: "
                           f"{self.process.stderr_tail()}")

    def _ready(self, msg_id, deadline):
        """True once both the shell reply and an iopub status message for ``msg_id`` came."""
        replied = published = False
        while time.monotonic() < deadline and not (replied and published):
            events = dict(self.poller.poll(100))
            if self.shell in events:
                replied |= any(_parent(m) == msg_id for m in self._receive(self.shell))
            if self.iopub in events:
                published |= any(_parent(m) == msg_id for m in self._receive(self.iopub))
        return replied and published

    def execute(self, code, timeout, *, silent=False, user_expressions=None):
        """Run ``code`` and wait at most ``timeout`` seconds.

        On timeout the kernel is interrupted and given 5 more seconds to stop.

        Returns
        -------
        Execution
        """
        self._receive(self.iopub)
        start = time.monotonic()
        msg_id = self._send("execute_request", {
            "code": code, "silent": silent, "store_history": not silent,
            "user_expressions": user_expressions or {}, "allow_stdin": False,
            "stop_on_error": False})
        result = self._collect(msg_id, start + timeout)
        if result.status == "timeout":
            self.process.interrupt()
            late = self._collect(msg_id, time.monotonic() + 5)
            result.status = "dead" if late.status == "dead" else (
                "timeout" if late.status != "timeout" else "stuck")
            result.output_bytes += late.output_bytes  # printed while being interrupted
            result.truncated = result.truncated or result.output_bytes > OUTPUT_CAP
        if _asked_to_exit(result.reply):
            result.status = "dead" if self.process.wait_exit(5) else result.status
        result.seconds = time.monotonic() - start
        return result

    def _collect(self, msg_id, deadline):
        result = Execution(status="timeout")
        idle = reply = None
        reply_time = 0.0
        while reply is None or idle is None:
            now = time.monotonic()
            if reply is not None and now > reply_time + 2.0:
                break  # the reply came but the kernel never said idle: do not wait for it
            if now >= deadline:
                return result
            if not self.process.alive:
                result.status = "dead"
                return result
            events = dict(self.poller.poll(min(250, max(1, int((deadline - now) * 1000)))))
            if self.iopub in events:
                idle = self._on_iopub(msg_id, result) or idle
            if self.shell in events and reply is None:
                reply = next((m for m in self._receive(self.shell) if _parent(m) == msg_id),
                             None)
                reply_time = time.monotonic()
        self._apply_reply(reply, result)
        return result

    def _on_iopub(self, msg_id, result):
        idle = None
        for msg in self._receive(self.iopub):
            if _parent(msg) != msg_id:
                continue
            kind, content = msg.get("msg_type"), msg.get("content", {})
            if kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind in ("stream", "display_data", "execute_result", "update_display_data"):
                before = result.output_bytes
                result.output_bytes += _size(content)
                result.truncated = result.truncated or result.output_bytes > OUTPUT_CAP
                _keep(msg, before, result)
            elif kind == "error":
                if not result.ename:
                    _record_error(content, result)
                _keep(msg, result.output_bytes, result)
        return idle

    @staticmethod
    def _apply_reply(reply, result):
        content = reply.get("content", {}) if isinstance(reply, dict) else {}
        result.reply = content if isinstance(content, dict) else {}
        if result.reply.get("status") == "ok":
            result.status = "ok"
        else:
            result.status = "error"
            if not result.ename:
                _record_error(result.reply, result)

    def close(self, *, keep_inbox=False):
        """Close the sockets and kill the kernel; remove its inbox unless kept."""
        try:
            self._close_sockets()
        finally:
            self.process.remove(keep_inbox=keep_inbox)


    def _close_sockets(self):
        self.shell.close(linger=0)
        self.iopub.close(linger=0)
        self.context.term()
        for fd in self._anchors:
            os.close(fd)
        self._anchors = []


def _asked_to_exit(reply):
    """True when the code called IPython's ``exit()``/``quit()``: the kernel is shutting down."""
    payload = reply.get("payload") if isinstance(reply, dict) else None
    return isinstance(payload, list) and any(
        isinstance(p, dict) and p.get("source") == "ask_exit" and not p.get("keepkernel")
        for p in payload)


def _parent(msg):
    parent = msg.get("parent_header") if isinstance(msg, dict) else None
    return parent.get("msg_id") if isinstance(parent, dict) else None


def _keep(msg, before, result):
    """Add ``msg`` to ``result.outputs`` while they stay under :data:`KEPT_OUTPUT`."""
    if msg.get("msg_type") == "update_display_data":
        return
    if result.output_bytes <= KEPT_OUTPUT:
        try:
            result.outputs.append(output_from_msg(msg))
        except (KeyError, TypeError, ValueError):  # a malformed message: count, do not keep
            pass
    elif before <= KEPT_OUTPUT:
        result.outputs.append(new_output("stream", name="stderr", text=(
            f"[the grader kept the first {KEPT_OUTPUT // 1024} KB of this cell's output]\n")))


def _size(content):
    data = content.get("data") if "data" in content else content.get("text", "")
    if isinstance(data, dict):
        return sum(len(v) if isinstance(v, str) else 64 for v in data.values())
    return len(data) if isinstance(data, str) else 64


def _record_error(content, result):
    result.ename = _text(content.get("ename"), 200) or "Error"
    result.evalue = _text(content.get("evalue"), 1000)
    frames = content.get("traceback") if isinstance(content.get("traceback"), list) else []
    result.traceback = _ANSI.sub("", "\n".join(_text(f, 2000) for f in frames))[
        -_TRACEBACK_CHARS:]


def _text(value, limit):
    return value[:limit] if isinstance(value, str) else ""
