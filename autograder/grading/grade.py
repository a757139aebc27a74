"""Grade submissions: each runs in its own sandboxed kernel; tests run here and only query it.

The pipeline for one submission (:func:`grade_submission`)::

    read it  ->  take a fresh kernel (the next one starts meanwhile)  ->  run every cell
    ->  run every test here, asking the kernel for plain data  ->  write the result

A batch (:func:`grade`) spreads submissions over worker threads, each with its own kernels,
writes each result atomically as it finishes, skips submissions already graded with the same
bundle, and rebuilds the gradebook and summary from all results at the end.
"""

import ast
import os
import queue
import shutil
import sys
import threading
import time
import copy
import difflib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
from tqdm import tqdm

from ..authoring.bundle import read_bundle
from ..judging.judge import current_traceback, judge_reflection, run_check
from ..reporting.report import feedback_html, gradebook_csv, gradescope_json, summary_html
from ..exceptions import UsageError
from ..reporting.results import QuestionResult, Result, ResultStore, write_atomic
from ..sandbox.run import KernelSlot, NotebookRun, Problem
from ..sandbox.launch import Limits, UidLease, Workspace
from ..sandbox.template import reference_imports
from .late import LatePolicy, apply_late, policy_from, read_times
from .submission import Submission, copy_files, load_submission, student_id, submission_hash

__all__ = ["GradeOptions", "grade", "grade_one", "grade_submission", "limits_for", "main",
           "refresh", "save_result"]


# Python 3.11's traceback module calls ast.parse to place its ^^^ markers, and before 3.13 the
# AST constructor's recursion counter is per interpreter, not per thread: two grading threads
# parsing at once can raise "SystemError: AST constructor recursion depth mismatch" (CPython
# gh-106905) and fail a submission. In the grader's process, every ast.parse takes its turn.
if sys.version_info < (3, 13):
    _PARSE_LOCK = threading.Lock()
    _unlocked_parse = ast.parse

    def _parse_in_turn(*args, **kwargs):
        with _PARSE_LOCK:
            return _unlocked_parse(*args, **kwargs)

    ast.parse = _parse_in_turn


@dataclass(frozen=True)
class GradeOptions:
    """How to grade.

    Attributes
    ----------
    workers : int, default=2
        Submissions graded at once (one kernel each, plus one pre-started).
    force : bool, default=False
        Regrade submissions that already have a result.
    quiet : bool, default=False
        No progress bar.
    cell_timeout, timeout : float, optional
        Override the bundle's seconds per cell and per submission.
    limits : Limits
        Memory, CPU and other limits of each kernel.
    late : LatePolicy or None
        Deadline and penalty (:mod:`autograder.grading.late`); None for no late penalty.
    submitted_at : dict
        ``{student id: ISO 8601 time}`` of each submission (from an LMS archive or a CSV).
    marked_late : frozenset
        Students whose submission the LMS marked late (Canvas marks files ``LATE``).
    marks_late : bool
        The LMS marks every late submission (Canvas), so one without a mark or a time was on
        time.
    only : tuple of str
        Regrade only these students (forced); every other result stays as it is.
    cluster : str or None
        A Dask scheduler address: grade there instead of in local threads
        (:mod:`autograder.grading.cluster`).
    insecure_cluster : bool
        Allow an unencrypted ``tcp://`` scheduler on another machine.
    tls : tuple
        ``(CA file, certificate, key)`` for a ``tls://`` scheduler, or empty.
    """

    workers: int = 2
    force: bool = False
    quiet: bool = False
    cell_timeout: float = None
    timeout: float = None
    limits: Limits = Limits()
    late: LatePolicy = None
    submitted_at: dict = field(default_factory=dict)
    marked_late: frozenset = frozenset()
    marks_late: bool = False
    only: tuple = ()
    cluster: str = None
    insecure_cluster: bool = False
    tls: tuple = ()


def main(bundle, submissions, *, out, late=None, times=None, **options):
    """Grade ``submissions`` with ``bundle`` into folder ``out``; return the exit status.

    Parameters
    ----------
    late : dict, optional
        Command-line late policy (``deadline``, ``grace``, ``penalty``, ``cap``, ``cutoff``;
        None values keep the bundle's).
    times : str or Path, optional
        CSV of submission times (``student,submitted_at``), added to ``submitted_at``.
    **options
        :class:`GradeOptions` fields.

    Returns
    -------
    int
        0 when every submission was graded, 1 when any could not be.
    """
    bundle = read_bundle(bundle)
    policy = policy_from(bundle.assignment.late, bundle.path.name, **(late or {}))
    if times:
        tz = policy.deadline.tzinfo if policy else None
        options["submitted_at"] = {**options.get("submitted_at", {}), **read_times(times, tz)}
    statuses = grade(bundle, submissions, out, GradeOptions(late=policy, **options),
                     collect=False)
    order = ["graded", "failed", "error"]
    counts = ", ".join(f"{statuses[status]} {status}" for status in
                       sorted(statuses, key=lambda s: (order.index(s) if s in order else 3, s)))
    total = sum(statuses.values())
    print(f"autograder: {total} submission{'' if total == 1 else 's'} ({counts or 'none'}); "
          f"gradebook.csv and summary.html are in {out}", file=sys.stderr)
    return 0 if statuses and set(statuses) == {"graded"} else 1


def grade(bundle, paths, out, options=GradeOptions(), *, collect=True):
    """Grade the submissions at ``paths`` (a loaded :class:`~autograder.authoring.bundle.Bundle`).

    Parameters
    ----------
    collect : bool
        Keep every result to return it (the default). With False each result is only
        written to ``out`` as it comes, so a batch of any size runs in constant memory.

    Returns
    -------
    list of Result, or collections.Counter
        The results of this run's submissions, sorted by student (stored ones included when
        skipped); with ``collect=False``, how many results have each status.
    """
    store = ResultStore(out)
    _warn_if_readable(bundle.path)
    if options.only:
        paths = _only(paths, options.only)
        options = replace(options, force=True)
    statuses, kept = Counter(), []

    def take(result):
        statuses[result.status] += 1
        if collect:
            kept.append(result)

    todo = _plan(bundle, paths, store, options.force, take)
    if todo and options.cluster:
        _grade_on_cluster(bundle, todo, store, options, take)
    elif todo:
        _grade_in_workers(bundle, todo, store, options, take)
    _write_batch(bundle, store)
    return sorted(kept, key=lambda r: r.student) if collect else statuses


def _only(paths, students):
    """The submissions of ``students``; unknown ids are an error naming close matches."""
    by_id = {student_id(Path(p)): p for p in paths}
    unknown = [s for s in students if s not in by_id]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(by_id), n=3)
            hints.append(f"{name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        raise UsageError(f"--only names students with no submission among those given: "
                         f"{'; '.join(hints)}; use the ids gradebook.csv shows")
    return [by_id[s] for s in dict.fromkeys(students)]


def _plan(bundle, paths, store, force, take):
    """The submissions to grade; the results of the others go to ``take``."""
    todo, owners = [], {}
    for path in map(Path, paths):
        owners.setdefault(student_id(path), []).append(path)
    for student, claimed in owners.items():
        if len(claimed) > 1:
            take(_clash(bundle, store, student, claimed))
            continue
        path = claimed[0]
        try:
            sha = submission_hash(path)
        except Exception:  # unreadable: grading it will say why
            sha = ""
        if not force and sha and store.is_done(student, bundle.sha256, sha):
            take(store.load(student))
        else:
            todo.append(path)
    return todo


def _clash(bundle, store, student, paths):
    """One failed result for a student id that several submissions claim."""
    names = " and ".join(p.name + ("/" if p.is_dir() else "") for p in paths)
    result = _failure(bundle, paths[0], "input", f"{names} all belong to student id "
                      f"{student!r}; keep one of them (or rename the others) and grade again")
    print(f"autograder: {names} all belong to student id {student!r}; none was graded",
          file=sys.stderr)
    _save_quietly(store, result, bundle.assignment.title)
    return result


def _grade_in_workers(bundle, paths, store, options, take):
    jobs, finished = queue.Queue(), queue.Queue()
    for path in paths:
        jobs.put(path)
    count = max(1, min(options.workers, len(paths)))
    leases = [UidLease(options.limits.uid_base, 2) for _ in range(count)] \
        if os.geteuid() == 0 else []
    workspace = Workspace()
    threads = [threading.Thread(target=_worker, daemon=True,
                                args=(n, leases[n].uids if leases else (None,), bundle, jobs,
                                      finished, store, workspace, options))
               for n in range(count)]
    for thread in threads:
        thread.start()
    try:
        _collect(bundle, paths, finished, threads, options, take)
    finally:
        for thread in threads:
            thread.join(timeout=60)
        for lease in leases:
            lease.release()
        workspace.cleanup()


def _grade_on_cluster(bundle, paths, store, options, take):
    from .cluster import grade_on_cluster  # needs dask.distributed, loaded only here
    title = bundle.assignment.title
    grade_on_cluster(
        bundle, paths, store, options, take,
        save=lambda result, executed: _save_quietly(store, result, title, executed),
        failure=lambda path, message: _failure(bundle, path, "internal", message),
        progress=lambda: _bar(len(paths), options))


def _bar(total, options):
    return tqdm(total=total, unit="submission", file=sys.stderr,
                disable=options.quiet or not sys.stderr.isatty())


def _collect(bundle, paths, finished, threads, options, take):
    """Pass results to ``take`` as workers finish them; if every worker has stopped, the rest
    as errors. Only the not yet finished are tracked, so memory shrinks as the batch goes."""
    pending = {student_id(path): path for path in paths}
    with _bar(len(paths), options) as bar:
        while pending:
            try:
                result = finished.get(timeout=1.0)
                pending.pop(result.student, None)
                take(result)
                bar.update(1)
                continue
            except queue.Empty:
                pass
            if not any(thread.is_alive() for thread in threads) and finished.empty():
                for path in pending.values():
                    take(_failure(bundle, path, "internal", "the grading workers stopped "
                                  "before this submission; re-run to grade it"))
                break


def _worker(number, uids, bundle, jobs, finished, store, workspace, options):
    """Grade submissions from ``jobs`` until none is left; never stop on one's failure."""
    slot = KernelSlot(workspace, uids, limits_for(bundle, options))
    staging = workspace.root / f"staging-{number}"
    staging.mkdir(mode=0o700)
    try:
        while True:
            try:
                path = jobs.get_nowait()
            except queue.Empty:
                return
            executed = None
            try:
                result, executed = grade_one(bundle, path, slot, staging, options)
            except BaseException as exc:  # noqa: BLE001 - a worker must report, not vanish
                result = _failure(bundle, path, "internal", f"the grader failed on this "
                                  f"submission ({type(exc).__name__}: {exc}); re-run to retry")
            if not _save_quietly(store, result, bundle.assignment.title, executed):
                result.status = "error"
            finished.put(result)
    finally:
        slot.close()


def _save_quietly(store, result, title, executed=None):
    """Write a result; on failure say why on stderr and return False (the batch goes on)."""
    try:
        save_result(store, result, title, executed)
        return True
    except Exception as exc:  # e.g. a full disk or an unwritable folder
        print(f"autograder: could not write the result of {result.student}: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return False


def limits_for(bundle, options):
    """The options' limits for this bundle: CPU time bounded by its time limit, and the
    modules its reference solution imports preloaded in the kernel template."""
    timeout = options.timeout or bundle.assignment.timeout
    return replace(options.limits, cpu_seconds=int(min(options.limits.cpu_seconds,
                                                       2 * timeout + 60)),
                   preload=reference_imports(bundle.reference))


def grade_one(bundle, path, slot, staging, options):
    """The result of one submission and its executed notebook (JSON text, or None).

    Never raises for a submission's fault or the grader's: a failure becomes the result.
    Used by local worker threads and by Dask workers alike.
    """
    start = time.monotonic()
    submission, executed = None, None
    try:
        submission = load_submission(path, staging)
        result = grade_submission(bundle, submission, slot, options)
        executed = executed_notebook(submission)
    except Exception as exc:  # the grader failed, not the student: record it, go on
        result = _failure(bundle, path, "internal", f"the grader failed on this submission "
                          f"({type(exc).__name__}: {exc}); re-run to retry",
                          current_traceback(limit=-5), submission)
    finally:
        shutil.rmtree(staging / student_id(path), ignore_errors=True)
    apply_late(result, options.late, options.submitted_at.get(result.student),
               result.student in options.marked_late,
               on_time=options.marks_late and result.student not in options.marked_late)
    result.seconds = round(time.monotonic() - start, 3)
    return result, executed


def executed_notebook(submission):
    """The submission's notebook with the outputs its cells produced here, as JSON text.

    Cells that did not run (after a time-out, or self-check cells) have no outputs. None when
    the submission could not be read.
    """
    if submission.notebook is None:
        return None
    nb = copy.deepcopy(submission.notebook)
    outputs = submission.outputs
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cell["outputs"] = outputs.get(number, [])
            cell["execution_count"] = None
    return nbformat.writes(nbformat.from_dict(nb), version=4)


def _failure(bundle, path, kind, message, detail="", submission=None):
    """The result of a submission that could not be graded."""
    submission = submission or Submission(student_id(path), Path(path))
    result = _empty_result(bundle, submission, "error" if kind == "internal" else "failed")
    result.problems.append(Problem(kind, message, detail=detail))
    return result


def grade_submission(bundle, submission, slot, options=GradeOptions()):
    """Grade one loaded submission in a kernel from ``slot``; return its :class:`Result`."""
    if submission.error:
        result = _empty_result(bundle, submission, "failed")
        result.problems.append(Problem("input", submission.error))
        return result
    assignment = bundle.assignment
    process = slot.take()
    copy_files(submission, process.inbox)
    slot.prestart()
    run = NotebookRun(slot, process, options.cell_timeout or assignment.cell_timeout,
                      options.timeout or assignment.timeout)
    try:
        run.run_cells(submission.cells)
        questions = [grade_question(q, run) for q in assignment.questions]
        _keep_reviewed_code(assignment, submission, questions)
    finally:
        run.close()
        submission.outputs = run.outputs
    return _result(bundle, submission, run, questions)


def _keep_reviewed_code(assignment, submission, questions):
    """Store the answer cells of code questions marked for manual review (bounded)."""
    for question, result in zip(assignment.questions, questions):
        if question.kind == "code" and question.manual:
            code = "\n\n".join(c.source for c in submission.cells if c.question == question.id)
            result.answer_code = code[:20000]


def grade_question(question, run):
    """Run a question's tests (or reflection check) against the submission's kernel."""
    if question.kind == "reflection":
        outcome, text = judge_reflection(question, run.student())
        return QuestionResult(question.id, question.kind, outcome.score, question.points,
                              [outcome], text[:20000] if text else None)
    outcomes = [run_check(check, run.student()) for check in question.checks]
    return QuestionResult(question.id, question.kind, sum(o.score for o in outcomes),
                          question.points, outcomes)


def _result(bundle, submission, run, questions):
    result = _empty_result(bundle, submission, "graded")
    result.questions = questions
    result.score = sum(q.score for q in questions)
    result.problems = run.problems + _missing_questions(bundle, submission)
    result.notes = submission.notes + run.notes
    result.sandbox = run.sandbox
    return result


def _missing_questions(bundle, submission):
    return [Problem("missing_question", f"no cell is marked as the answer to question {q.id} "
                    "(was it deleted, or the answer pasted into a new cell?); its tests still "
                    "ran against whatever the notebook defines", question=q.id)
            for q in bundle.assignment.questions if q.id not in submission.questions]


def _empty_result(bundle, submission, status):
    assignment = bundle.assignment
    return Result(student=submission.student, assignment=assignment.id, status=status,
                  max=assignment.points, bundle_sha256=bundle.sha256,
                  submission_sha256=submission.sha256,
                  questions=[QuestionResult(q.id, q.kind, 0.0, q.points)
                             for q in assignment.questions])


def save_result(store, result, title, executed=None):
    """Write one result's files; ``result.json`` last, as it marks the submission done.

    Manual scores stored for the student (``manual.json``, from ``autograder review --merge``)
    are applied first, so a regrade never loses them. ``executed`` (the student's notebook
    with outputs, JSON text) is written to ``executed.ipynb`` when given.
    """
    if result.status == "graded":
        result.apply_manual(store.manual(result.student))
    else:
        result.rescore()
    folder = store.folder(result.student)
    if executed is not None:
        write_atomic(folder / "executed.ipynb", executed)
    write_atomic(folder / "feedback.html", feedback_html(result, title))
    write_atomic(folder / "results.json", gradescope_json(result))
    write_atomic(folder / "result.json", result.to_json())


def refresh(bundle, out, students=None):
    """Rewrite stored results' files (after manual scores changed) and the batch files.

    Parameters
    ----------
    bundle : Bundle
    out : str or Path
        A grading output folder.
    students : iterable of str, optional
        Only these students' files are rewritten (the gradebook and summary always are).
    """
    store = ResultStore(out)
    wanted = None if students is None else set(students)
    for result in store.iter_results(bundle.assignment.id):
        if wanted is None or result.student in wanted:
            save_result(store, result, bundle.assignment.title)
    _write_batch(bundle, store)


def _write_batch(bundle, store):
    """The gradebook and summary of every stored result, read from disk one at a time."""
    assignment = bundle.assignment
    questions = [q.id for q in assignment.questions]
    write_atomic(store.root / "gradebook.csv",
                 gradebook_csv(store.iter_results(assignment.id), questions))
    write_atomic(store.root / "summary.html",
                 summary_html(store.iter_results(assignment.id), assignment))


def _warn_if_readable(path):
    if path is not None and os.geteuid() == 0 and path.stat().st_mode & 0o077:
        print(f"autograder: warning: {path} is readable by other users, so student code "
              f"might read it; run `chmod 600 {path}`", file=sys.stderr)
