"""Run a submission's cells in a sandboxed kernel, surviving errors, loops and crashes.

A failing cell does not stop the rest. A cell that times out is interrupted; one that will not
stop, or kills its kernel, leads to a fresh kernel in which the cells that ran before are run
again, and grading goes on with the next cell.
"""

import itertools
import sys
import time
from dataclasses import dataclass

from .kernel import OUTPUT_CAP, KernelSession
from .query import KernelStudent, bootstrap
from .launch import KernelProcess, Limits, host_env, isolation
from .template import Template
from ..exceptions import SandboxError

__all__ = ["Problem", "KernelSlot", "NotebookRun"]

MAX_RESTARTS = 3
MAX_TEMPLATES = 3


@dataclass
class Problem:
    """Something that went wrong while grading a submission.

    Attributes
    ----------
    kind : str
        ``exception``, ``timeout``, ``crash``, ``output``, ``not_run``, ``missing_question``,
        ``input`` or ``internal``.
    message : str
        What happened and where, for students and instructors.
    cell : int or None
        1-based cell number in the submitted notebook.
    question : str or None
        The question the cell answers, when known.
    detail : str
        For instructors: a traceback or the like.
    """

    kind: str
    message: str
    cell: int = None
    question: str = None
    detail: str = ""


class KernelSlot:
    """Kernels for one worker; the next one starts while the current submission is graded.

    With bubblewrap (and ``limits.template``) kernels are forked from a pre-imported
    :class:`~autograder.sandbox.template.Template`, started on first use; where that cannot
    work the slot says why on stderr and starts kernels by exec.

    Parameters
    ----------
    workspace : Workspace
        Where private directories are made.
    uids : list of int or None
        Unprivileged uids to alternate between (two, so the pre-started kernel never shares
        a uid with the one being cleaned up).
    limits : Limits
        Resource limits.
    """

    def __init__(self, workspace, uids=(None,), limits=Limits()):
        self.workspace, self.limits = workspace, limits
        self._uids = itertools.cycle(uids)
        self._next = None
        self._template, self._starts, self._fork_failures = None, 0, 0

    def take(self):
        """Return a started kernel process (the pre-started one when there is one)."""
        process, self._next = self._next, None
        return process or self._launch()

    def prestart(self):
        """Start the kernel for the next submission now."""
        if self._next is None:
            self._next = self._launch()

    def relaunch(self, old):
        """Start a fresh replacement for ``old``: same uid and inbox, new private places.

        Nothing the old kernel wrote survives (its home was a tmpfs), so a file it planted,
        such as an IPython startup file, cannot run in the replacement.
        """
        return self._start(old.uid, old.inbox)

    def _launch(self):
        return self._start(next(self._uids), None)

    def _start(self, uid, inbox):
        template = self.template()
        if template is not None:
            try:
                return KernelProcess.launch(self.workspace, uid=uid, limits=self.limits,
                                            inbox=inbox, template=template)
            except SandboxError as exc:
                self._fork_failures += 1
                if template.alive and self._fork_failures >= MAX_TEMPLATES:
                    self._give_up(f"{self._fork_failures} kernels could not be forked from it "
                                  f"(the last: {exc})")
                else:
                    print(f"autograder: this kernel starts by exec: {exc}", file=sys.stderr)
        return KernelProcess.launch(self.workspace, uid=uid, limits=self.limits, inbox=inbox)

    def template(self):
        """The running template, started on first use; None when kernels start by exec.

        A template that stopped (killed, say) is replaced, :data:`MAX_TEMPLATES` times at most.
        """
        if self._template is not None and not self._template.alive:
            self._template.close()
            self._template = None
            print("autograder: the kernel template stopped; " + (
                "starting a new one" if self._starts < MAX_TEMPLATES else
                f"it stopped {MAX_TEMPLATES} times, so kernels start by exec"), file=sys.stderr)
        if self._template is not None or self._starts >= MAX_TEMPLATES \
                or not self.limits.template or isolation(self.limits)[0] != "bubblewrap":
            return self._template
        self._starts += 1
        home = self.workspace.new_folder()
        try:
            self._template = Template(self.limits.preload, host_env(home), home)
        except SandboxError as exc:
            self._starts = MAX_TEMPLATES
            print(f"autograder: kernels start by exec, about 2 s slower each: {exc}",
                  file=sys.stderr)
        return self._template

    def _give_up(self, why):
        print(f"autograder: the kernel template is no longer used: {why}; kernels start by "
              "exec", file=sys.stderr)
        if self._template is not None:
            self._template.close()
        self._template, self._starts = None, MAX_TEMPLATES

    def close(self):
        """Kill the pre-started kernel, if any, and stop the template."""
        if self._next is not None:
            self._next.remove()
            self._next = None
        if self._template is not None:
            self._template.close()
            self._template = None


class NotebookRun:
    """One submission's kernel and what happened in it.

    Parameters
    ----------
    slot : KernelSlot
        Supplies replacement kernels.
    process : KernelProcess
        The kernel to start with (already holding the submission's files).
    cell_timeout, timeout : float
        Seconds per cell and for all cells.
    """

    def __init__(self, slot, process, cell_timeout, timeout):
        self.slot, self.cell_timeout = slot, cell_timeout
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.problems, self.notes, self.ran = [], [], []
        self.outputs = {}  # cell number -> nbformat outputs, for the executed notebook
        self.restarts, self.broken = 0, False
        self.sandbox = dict(process.status)
        self._stderr_seen, self._flooded = 0, set()
        self._connect(process)

    def _connect(self, process):
        try:
            self.session = KernelSession(process)
        except BaseException:
            process.kill()
            raise
        try:
            self.token = bootstrap(self.session)
        except BaseException:
            self.session.close(keep_inbox=True)
            raise

    def run_cells(self, cells):
        """Run ``cells`` (CodeCell list) in order, recording problems."""
        for index, cell in enumerate(cells):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or self.broken:
                self._not_run(cells[index:])
                return
            self._run_cell(cell, min(self.cell_timeout, remaining))

    def _run_cell(self, cell, timeout):
        result = self.session.execute(cell.source, timeout)
        self.outputs[cell.number] = result.outputs
        if result.truncated:
            self._problem("output", f"cell {cell.number} printed {result.output_bytes:,} "
                          f"characters; output beyond {OUTPUT_CAP // 2**20} MB was discarded",
                          cell)
        self._check_stderr(cell)
        if result.status in ("ok", "error"):
            self.ran.append(cell)
        if result.status == "error":
            self._problem("exception", f"cell {cell.number} raised {result.ename}: "
                          f"{result.evalue}", cell, result.traceback)
        elif result.status == "timeout":
            self._problem("timeout", f"cell {cell.number} ran longer than {timeout:g} s and "
                          "was interrupted (an endless loop?)", cell)
        elif result.status in ("stuck", "dead"):
            self._crashed(cell, result, timeout)

    def _crashed(self, cell, result, timeout):
        if result.status == "stuck":
            what = (f"cell {cell.number} ran longer than {timeout:g} s and did not stop when "
                    "interrupted, so its kernel was restarted")
        else:
            what = (f"cell {cell.number} crashed the kernel "
                    f"({self.session.process.exit_description()}: sys.exit/os._exit, the "
                    "memory limit, or a crash)")
        self._problem("timeout" if result.status == "stuck" else "crash", what, cell,
                      self.session.process.stderr_tail())
        self.revive(f"after cell {cell.number}")

    def revive(self, when):
        """Replace a dead or stuck kernel and re-run the cells that ran; False if impossible."""
        if self.restarts >= MAX_RESTARTS:
            self.broken = True
            self.notes.append(f"the kernel was not restarted {when}: it had already been "
                              f"restarted {MAX_RESTARTS} times; later cells were not run")
            return False
        self.restarts += 1
        old = self.session.process
        self.session.close(keep_inbox=True)
        self._connect(self.slot.relaunch(old))
        self._stderr_seen = 0
        replayed = self._replay()
        self.notes.append(f"kernel restarted {when}; re-ran {replayed} earlier cell(s) so later "
                          "answers could still be graded")
        return not self.broken

    def _replay(self):
        for count, cell in enumerate(self.ran):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.broken = True
                self.notes.append("the notebook used its whole time limit while earlier cells "
                                  "were re-run after a restart")
                return count
            result = self.session.execute(cell.source, min(self.cell_timeout, remaining))
            if result.status in ("dead", "stuck"):
                self.broken = True
                self.notes.append(f"re-running cell {cell.number} failed ({result.status}); "
                                  "grading what the notebook had defined by then")
                return count
        return len(self.ran)

    def _check_stderr(self, cell):
        """Record output written straight to the process's error stream (not through Jupyter)."""
        size = self.session.process.stderr_bytes()
        if size - self._stderr_seen > OUTPUT_CAP:
            self._problem("output", f"cell {cell.number} wrote {size - self._stderr_seen:,} "
                          "bytes straight to the error stream (file descriptor 2); that "
                          "output is not shown", cell)
        self._stderr_seen = size

    def _query_flood(self, name, size):
        if name not in self._flooded:
            self._flooded.add(name)
            self._problem("output", f"answering a test about `{name}` printed {size:,} "
                          f"characters; output beyond {OUTPUT_CAP // 2**20} MB was discarded")

    def _not_run(self, cells):
        if not cells:
            return
        numbers = ", ".join(str(c.number) for c in cells)
        reason = ("the kernel could not be restarted again" if self.broken else
                  f"the notebook used its whole time limit ({self.timeout:g} s)")
        self._problem("not_run", f"cells {numbers} were not run: {reason}")

    def _problem(self, kind, message, cell=None, detail=""):
        self.problems.append(Problem(kind, message, cell.number if cell else None,
                                     cell.question if cell else None, detail))

    def student(self):
        """The ``student`` for tests, reviving the kernel first if a query crashed it."""
        if not self.session.alive and not self.broken:
            self.revive("after it crashed while answering a test")
        return KernelStudent(self.session, self.token, self.cell_timeout, self._query_flood)

    def close(self):
        """Kill the kernel (and all it started) and remove its inbox."""
        self.session.close()
