"""Regenerate each exercise's student notebook: ``python -m autograder.tools.regenerate DIR``.

For every ``DIR/*/source.ipynb`` this runs ``autograder assign`` (with verification) into a
temporary folder and copies the student notebook to ``exercise.ipynb`` beside the source. The
bundle is not kept: it is made again whenever grading needs it.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from ..assign import assign

__all__ = ["regenerate"]


def regenerate(root):
    """Regenerate ``exercise.ipynb`` for every ``root/*/source.ipynb``; return the paths."""
    written = []
    for source in sorted(Path(root).glob("*/source.ipynb")):
        with tempfile.TemporaryDirectory(prefix="autograder-regenerate-") as tmp:
            output = assign(source, tmp)
            target = source.with_name("exercise.ipynb")
            shutil.copyfile(output.notebook, target)
        written.append(target)
        print(f"wrote {target}")
    return written


if __name__ == "__main__":
    regenerate(sys.argv[1] if len(sys.argv) > 1 else "exercises")
