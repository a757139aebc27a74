"""Talk to one sandboxed kernel: run cells under a timeout and evaluate query expressions."""

import re
import time
from dataclasses import dataclass, field

import zmq
from jupyter_client.blocking.client import BlockingKernelClient

from .exceptions import SandboxError

__all__ = ["KernelSession", "Execution"]

MAX_MESSAGE = 64 * 1024 ** 2
OUTPUT_CAP = 1024 ** 2
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
    """

    status: str
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    output_bytes: int = 0
    truncated: bool = False
    reply: dict = field(default_factory=dict, repr=False)
    seconds: float = 0.0


class KernelSession:
    """A client connected to a :class:`~autograder.sandbox.KernelProcess`.

    Parameters
    ----------
    process : KernelProcess
        The started kernel.
    startup_timeout : float, default=60
        Seconds to wait for the kernel to answer.
    """

    def __init__(self, process, startup_timeout=60.0):
        self.process = process
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        self.context.setsockopt(zmq.LINGER, 0)
        self.client = BlockingKernelClient(context=self.context)
        self.client.load_connection_info(process.connection)
        self.client.start_channels(shell=True, iopub=True, stdin=False, hb=False,
                                   control=False)
        self._wait_ready(startup_timeout)

    @property
    def alive(self):
        """True while the kernel process runs."""
        return self.process.alive

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive:
                raise SandboxError(f"the kernel exited while starting "
                                   f"({self.process.exit_description()}): "
                                   f"{self.process.stderr_tail()}")
            msg_id = self.client.kernel_info()
            if self._await_reply(msg_id, 1.0) and self._iopub_live(0.5):
                return
        raise SandboxError(f"the kernel did not answer within {timeout:g} s: "
                           f"{self.process.stderr_tail()}")

    def _await_reply(self, msg_id, timeout):
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                msg = self.client.get_shell_msg(timeout=remaining)
            except Exception:  # queue.Empty, or a message that fails to decode
                return None
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
        return None

    def _iopub_live(self, timeout):
        try:
            self.client.get_iopub_msg(timeout=timeout)
        except Exception:
            return False
        self._drain_iopub()
        return True

    def _drain_iopub(self):
        while self.client.iopub_channel.msg_ready():
            try:
                self.client.get_iopub_msg(timeout=0)
            except Exception:
                return

    def execute(self, code, timeout, *, silent=False, user_expressions=None):
        """Run ``code`` and wait at most ``timeout`` seconds.

        On timeout the kernel is interrupted and given 5 more seconds to stop.

        Returns
        -------
        Execution
        """
        self._drain_iopub()
        start = time.monotonic()
        msg_id = self.client.execute(code, silent=silent, store_history=not silent,
                                     user_expressions=user_expressions or {},
                                     allow_stdin=False, stop_on_error=False)
        result = self._collect(msg_id, start + timeout)
        if result.status == "timeout":
            self.process.interrupt()
            late = self._collect(msg_id, time.monotonic() + 5)
            result.status = "dead" if late.status == "dead" else (
                "timeout" if late.status != "timeout" else "stuck")
        result.seconds = time.monotonic() - start
        return result

    def _collect(self, msg_id, deadline):
        result = Execution(status="timeout")
        idle = reply = None
        poller = zmq.Poller()
        poller.register(self.client.shell_channel.socket, zmq.POLLIN)
        poller.register(self.client.iopub_channel.socket, zmq.POLLIN)
        while reply is None or idle is None:
            now = time.monotonic()
            if reply is not None and now > reply_time + 2.0:
                break  # the reply came but the kernel never said idle: do not wait for it
            if now >= deadline:
                return result
            if not self.process.alive:
                result.status = "dead"
                return result
            events = dict(poller.poll(min(250, max(1, int((deadline - now) * 1000)))))
            if self.client.iopub_channel.socket in events:
                idle = self._on_iopub(msg_id, result) or idle
            if self.client.shell_channel.socket in events and reply is None:
                reply = self._shell_reply(msg_id)
                reply_time = time.monotonic()
        self._apply_reply(reply, result)
        return result

    def _on_iopub(self, msg_id, result):
        idle = None
        while self.client.iopub_channel.msg_ready():
            try:
                msg = self.client.get_iopub_msg(timeout=0)
            except Exception:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg.get("msg_type"), msg.get("content", {})
            if kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind in ("stream", "display_data", "execute_result", "update_display_data"):
                result.output_bytes += _size(content)
                result.truncated = result.truncated or result.output_bytes > OUTPUT_CAP
            elif kind == "error" and not result.ename:
                _record_error(content, result)
        return idle

    def _shell_reply(self, msg_id):
        while self.client.shell_channel.msg_ready():
            try:
                msg = self.client.get_shell_msg(timeout=0)
            except Exception:
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
        return None

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

    def close(self, *, keep_directory=False):
        """Stop the client and kill the kernel; remove its private directory unless kept."""
        try:
            self.client.stop_channels()
        finally:
            if keep_directory:
                self.process.kill()
                self.process.log.unlink(missing_ok=True)
            else:
                self.process.remove()
            self.context.destroy(linger=0)


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
