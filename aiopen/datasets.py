"""Small tables of published figures that the chapters plot.

The tables live in ``chapters/data/`` beside a ``.source.txt`` each that records where the
figures come from. They are installed with the package (as ``aiopen.tables``), so a chapter
opened alone in Colab finds them as well as one opened from a clone of the repository.
"""

import importlib.resources
import pathlib

import pandas as pd

__all__ = ["read_table", "table_source"]


def _tables():
    """The folder of tables: the repository's own when running from a checkout (or an
    editable install), else the copy installed with the package."""
    checkout = pathlib.Path(__file__).resolve().parent.parent / "chapters" / "data"
    if checkout.is_dir():
        return checkout
    return importlib.resources.files("aiopen.tables")


def _resource(filename):
    resource = _tables() / filename
    if not resource.is_file():
        available = sorted(p.name for p in _tables().iterdir() if p.name.endswith(".csv"))
        raise FileNotFoundError(
            f"No table {filename!r} in chapters/data/. Available: {available}. "
            "Add the CSV with a .source.txt beside it, then reinstall (make venv).")
    return resource


def read_table(name):
    """Read the table ``chapters/data/<name>.csv`` as a DataFrame.

    Parameters
    ----------
    name : str
        The table's file name without ``.csv``, e.g. ``"ch02-fmti-2023"``.
    """
    with _resource(f"{name}.csv").open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


def table_source(name):
    """The recorded source of ``chapters/data/<name>.csv``, as text."""
    return _resource(f"{name}.source.txt").read_text(encoding="utf-8")
