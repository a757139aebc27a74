"""The ``autograder`` command: a thin layer over :mod:`autograder.assign`, :mod:`.grade`, etc.

Exit status: 0 success; 1 when a submission could not be graded or verification failed;
2 for usage errors (bad paths, an invalid source notebook or bundle), with a message saying
the fix.
"""

import sys

import click

from .exceptions import (BundleError, FormatError, SandboxError, VerificationError)
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
def grade(bundle, submissions, out, workers, force, quiet, cell_timeout, timeout, memory,
          disk, allow_network, no_bubblewrap):
    """Grade SUBMISSIONS (.ipynb files, folders or .zip files) with BUNDLE.

    The student id of each submission is its file or folder name without extension.
    """
    from .grading import grade as grade_module
    limits = Limits(memory=_size(memory, "--memory"), disk=_size(disk, "--disk"),
                    network=allow_network, bubblewrap=not no_bubblewrap)
    _exit(lambda: grade_module.main(bundle, submissions, out=out, workers=workers, force=force,
                                    quiet=quiet, cell_timeout=cell_timeout, timeout=timeout,
                                    limits=limits))


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
    except (FormatError, BundleError, SandboxError) as exc:
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
