"""The ``autograder`` command: a thin layer over :mod:`autograder.assign`, :mod:`.grade`, etc.

Exit status: 0 success; 1 when a submission could not be graded or verification failed;
2 for usage errors (bad paths, an invalid source notebook or bundle), with a message saying
the fix.
"""

import sys

import click

from .exceptions import (BundleError, FormatError, SandboxError, UsageError,
                         VerificationError)
from .grading.grade import GradeOptions
from .sandbox.launch import Limits

__all__ = ["main"]

_DEFAULTS = GradeOptions()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Make, check and grade notebook exercises. See autograder/README.md."""


@cli.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for <id>.ipynb (students) and <id>-bundle.json (private).")
@click.option("--no-verify", is_flag=True, help="Skip grading the reference and blank notebook.")
@click.option("--workers", default=_DEFAULTS.workers, show_default=True, type=click.IntRange(1))
def assign(source, out, no_verify, workers):
    """Make the student notebook and the grading bundle from SOURCE."""
    from . import assign as assign_module
    _exit(lambda: assign_module.main(source, out=out, verify=not no_verify, workers=workers))


@cli.command()
@click.argument("bundle", type=click.Path(dir_okay=False))
@click.argument("submissions", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for results, gradebook.csv and summary.html.")
@click.option("--workers", default=_DEFAULTS.workers, show_default=True, type=click.IntRange(1),
              help="Submissions graded at once.")
@click.option("--force", is_flag=True, help="Regrade submissions that already have a result.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--cell-timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds per cell [default: from the bundle].")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds per submission [default: from the bundle].")
@click.option("--memory", default=f"{Limits().memory // 2**20}M", show_default=True,
              help="Memory limit per kernel (all its processes), e.g. 2G or 1500M.")
@click.option("--disk", default=f"{Limits().disk // 2**20}M", show_default=True,
              help="Size of each kernel's private home, /tmp and /dev/shm, e.g. 256M.")
@click.option("--allow-network", is_flag=True, help="Do not cut kernels off the network.")
@click.option("--no-bubblewrap", is_flag=True,
              help="Run kernels as plain processes even where bubblewrap works (weaker; "
                   "for comparison).")
@click.option("--no-template", is_flag=True,
              help="Start every kernel by exec instead of forking it from a template that "
                   "has imported the assignment's libraries (slower; for comparison).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False),
              help="The LMS's roster export (Canvas gradebook CSV or Moodle grading "
                   "worksheet); SUBMISSIONS is then the LMS's bulk-download zip.")
@click.option("--lms", type=click.Choice(["canvas", "moodle"]),
              help="The archive's LMS [default: guessed from its file names].")
@click.option("--deadline", help="Due time with a time zone, e.g. 2026-12-01T23:59+01:00 "
                                 "[default: from the bundle, if any].")
@click.option("--grace", help="Grace period after the deadline, e.g. 15m or 2h.")
@click.option("--late-penalty", help="Penalty per started day late: 10% (of the maximum) or "
                                     "2pts.")
@click.option("--late-cap", help="Largest late penalty, e.g. 50% or 5pts.")
@click.option("--late-cutoff", help="Score 0 when later than this after deadline + grace, "
                                    "e.g. 7d.")
@click.option("--times", type=click.Path(exists=True, dir_okay=False),
              help="CSV of submission times (columns student,submitted_at).")
@click.option("--only", multiple=True,
              help="Regrade only these students (repeat, or separate with commas); the other "
                   "results stay as they are.")
@click.option("--cluster", metavar="ADDRESS",
              help="Grade on a Dask cluster, e.g. tls://scheduler:8786 (see the README).")
@click.option("--insecure-cluster", is_flag=True,
              help="Allow an unencrypted tcp:// scheduler on another machine.")
@click.option("--tls-ca-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False))
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False))
def grade(bundle, submissions, out, workers, force, quiet, cell_timeout, timeout, memory,
          disk, allow_network, no_bubblewrap, no_template, roster, lms, deadline, grace,
          late_penalty, late_cap, late_cutoff, times, only, cluster, insecure_cluster,
          tls_ca_file, tls_cert, tls_key):
    """Grade SUBMISSIONS (.ipynb files, folders or .zip files) with BUNDLE.

    The student id of each submission is its file or folder name without extension. With
    --roster, SUBMISSIONS is one Canvas or Moodle bulk-download archive instead.
    """
    from .grading import grade as grade_module
    limits = Limits(memory=_size(memory, "--memory"), disk=_size(disk, "--disk"),
                    network=allow_network, bubblewrap=not no_bubblewrap,
                    template=not no_template)
    options = dict(out=out, workers=workers, force=force, quiet=quiet,
                   cell_timeout=cell_timeout, timeout=timeout, limits=limits, times=times,
                   only=tuple(s.strip() for text in only for s in text.split(",") if s.strip()),
                   late=dict(deadline=deadline, grace=grace, penalty=late_penalty,
                             cap=late_cap, cutoff=late_cutoff),
                   cluster=cluster, insecure_cluster=insecure_cluster,
                   tls=_tls(tls_ca_file, tls_cert, tls_key))
    if roster or lms:
        from .course import lms as lms_module
        if len(submissions) != 1 or not roster:
            raise click.UsageError("with --roster/--lms, give --roster and exactly one "
                                   "archive (the LMS's bulk download zip)")
        return _exit(lambda: lms_module.main(bundle, submissions[0], roster=roster, lms=lms,
                                             **options))
    _exit(lambda: grade_module.main(bundle, submissions, **options))


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "format_", required=True,
              type=click.Choice(["canvas", "moodle", "csv"]),
              help="canvas: gradebook import CSV; moodle: grading worksheet; csv: plain.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The file to write.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False),
              help="The LMS's roster export (needed for canvas and moodle).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True),
              help="Rescale totals to the LMS assignment's points.")
@click.option("--column", help="Canvas: the assignment column, e.g. 'Exercise 0 (4567)' "
                               "[default: the roster's column starting with the assignment "
                               "id].")
def export(results, format_, out, roster, scale, column):
    """Write the grades in RESULTS (a grading --out folder) for import into an LMS."""
    from .course import export as export_module
    _exit(lambda: export_module.main(results, format=format_, out=out, roster=roster,
                                     scale=scale, column=column))


@cli.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for one zip per student.")
@click.option("--names", type=click.Choice(["student", "canvas", "moodle"]), default="student",
              show_default=True, help="Name zips by student id, Canvas user id, or in "
                                      "Moodle's feedback-upload layout.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False),
              help="The LMS's roster export (for --names canvas or moodle).")
def feedback(results, out, names, roster):
    """Zip each student's feedback page and executed notebook, ready to return."""
    from .course import feedback as feedback_module
    _exit(lambda: feedback_module.main(results, out=out, names=names, roster=roster))


@cli.command()
@click.argument("bundle", type=click.Path(dir_okay=False))
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--question", help="Only this question [default: every reflection and every "
                                 "question marked manual].")
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder for the review pages [default: RESULTS/review].")
@click.option("--merge", "merge_csv", type=click.Path(exists=True, dir_okay=False),
              help="Fold a scores CSV downloaded from a review page into the results.")
def review(bundle, results, question, out, merge_csv):
    """Write pages to score answers by hand, or merge the scores they export."""
    from .course import review as review_module
    _exit(lambda: review_module.main(bundle, results, question=question, out=out,
                                     merge_csv=merge_csv))


@cli.command()
@click.argument("bundle", type=click.Path(dir_okay=False))
@click.argument("submissions", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The HTML report to write.")
@click.option("--threshold", default=0.8, show_default=True,
              type=click.FloatRange(0, 1, min_open=True),
              help="Report pairs at least this similar (0 to 1).")
@click.option("--question", help="Only this question.")
@click.option("--top", default=50, show_default=True, type=click.IntRange(1),
              help="Pairs shown side by side.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False),
              help="The LMS's roster export; SUBMISSIONS is then the LMS's archive.")
@click.option("--lms", type=click.Choice(["canvas", "moodle"]),
              help="The archive's LMS [default: guessed].")
def similar(bundle, submissions, out, threshold, question, top, roster, lms):
    """Report pairs of students whose answers share most of their code."""
    from .course import similar as similar_module
    _exit(lambda: similar_module.main(bundle, submissions, out=out, threshold=threshold,
                                      question=question, top=top, roster=roster, lms=lms))


@cli.command("hash")
@click.argument("value")
@click.option("--decimals", default=3, show_default=True, type=click.IntRange(0, 12),
              help="Decimal places kept for numbers.")
@click.option("--string", "as_string", is_flag=True, help="Treat VALUE as text even if numeric.")
def hash_command(value, decimals, as_string):
    """Print a salted hash of VALUE for matches_hash() in a public test."""
    from .judging.hashing import answer_hash
    click.echo(answer_hash(value if as_string else _number_or_text(value), decimals=decimals))


@cli.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
def validate(source):
    """Check SOURCE against the authoring format without writing anything."""
    from .assign import read_notebook
    from .authoring.source import parse_source

    def run():
        assignment = parse_source(read_notebook(source))
        click.echo(f"{source}: {assignment.id}: {len(assignment.questions)} questions, "
                   f"{assignment.points:g} points: OK")
        return 0
    _exit(run)


def _tls(ca, cert, key):
    given = [v for v in (ca, cert, key) if v]
    if given and len(given) != 3:
        raise click.UsageError("TLS needs all three of --tls-ca-file, --tls-cert and --tls-key")
    return (ca, cert, key) if given else ()


def _number_or_text(value):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _size(text, option):
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size; write e.g. 2G or 1500M",
                                 param_hint=option) from None


def _exit(action):
    try:
        status = action()
    except (FormatError, BundleError, SandboxError, UsageError) as exc:
        click.echo(f"autograder: error: {exc}", err=True)
        status = 2
    except VerificationError as exc:
        click.echo(f"autograder: verification failed: {exc}", err=True)
        status = 1
    sys.exit(status)


def main(argv=None):
    """Run the command line (``autograder`` console script)."""
    cli.main(args=argv, prog_name="autograder")


if __name__ == "__main__":
    main()
