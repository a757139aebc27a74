"""The set-up cell that starts every notebook of the book.

In Google Colab a notebook arrives alone, without this repository's packages, so its first cell
installs them there. Anywhere else (the built book, Binder, a local Jupyter, nbval) the cell does
nothing. The cell is generated from ``repository.url`` in ``_config.yml``, the one place the
repository's address is written, and ``python -m aiopen.colab --check`` keeps every notebook's
copy in step with it.
"""

import argparse
import pathlib
import sys

import nbformat
import yaml

__all__ = ["MARKER", "install_spec", "setup_cell_source", "write_setup_cell"]

MARKER = "# Google Colab set-up"
TAG = "remove-cell"
PACKAGE = "ai-in-the-open"


def install_spec(repository_url, ref="main"):
    """The pip requirement that installs the course's packages from the repository."""
    return f"{PACKAGE} @ git+{repository_url.rstrip('/')}@{ref}"


def setup_cell_source(repository_url, ref="main"):
    """Source of the set-up cell: installs the course's packages only inside Colab."""
    return "\n".join([
        f"{MARKER}: installs the course's packages in Colab; does nothing anywhere else.",
        "import sys",
        'if "google.colab" in sys.modules:',
        "    import subprocess",
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",",
        f"                    {install_spec(repository_url, ref)!r}], check=True)",
    ])


def repository_url(config_path):
    """Read ``repository.url`` from the book's ``_config.yml``."""
    config = yaml.safe_load(pathlib.Path(config_path).read_text(encoding="utf-8"))
    try:
        return config["repository"]["url"]
    except (KeyError, TypeError):
        raise KeyError(f"{config_path} has no repository.url; add it under 'repository:'.") from None


def _is_setup_cell(cell):
    return cell.cell_type == "code" and cell.source.lstrip().startswith(MARKER)


def write_setup_cell(path, source):
    """Put the set-up cell first in the notebook at ``path``; return True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [TAG]})
    first = nb.cells[0] if nb.cells else None
    if first is not None and _is_setup_cell(first):
        if first.source == source and TAG in first.metadata.get("tags", []):
            return False
        cell.id = first.id
        nb.cells[0] = cell
    else:
        cell.id = "colab-setup"
        nb.cells.insert(0, cell)
    nbformat.write(nb, path)
    return True


def check_setup_cell(path, source):
    """Return a problem description for the notebook at ``path``, or None if its cell is right."""
    nb = nbformat.read(path, as_version=4)
    if not nb.cells or not _is_setup_cell(nb.cells[0]):
        return f"{path}: the first cell is not the Colab set-up cell"
    first = nb.cells[0]
    if first.source != source:
        return f"{path}: the Colab set-up cell differs from the one _config.yml gives"
    if TAG not in first.metadata.get("tags", []):
        return f"{path}: the Colab set-up cell lacks the tag {TAG!r}"
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    parser.add_argument("--config", type=pathlib.Path, default=pathlib.Path("_config.yml"))
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="insert or update the cell")
    mode.add_argument("--check", action="store_true", help="fail if any cell is missing or stale")
    args = parser.parse_args(argv)
    source = setup_cell_source(repository_url(args.config))
    if args.write:
        for path in args.notebooks:
            if write_setup_cell(path, source):
                print(f"updated {path}")
        return 0
    problems = [p for p in (check_setup_cell(path, source) for path in args.notebooks) if p]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("Run `make setup-cells` to fix them.", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
