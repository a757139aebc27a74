"""``autograder assign``: the student notebook and the bundle."""

import json
import stat

import nbformat
import pytest

from conftest import SAMPLE_EXERCISE as SAMPLE
from autograder.assign import assign
from autograder.exceptions import FormatError


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    return assign(SAMPLE / "source.ipynb", tmp_path_factory.mktemp("assign"), verify=False)


def test_student_notebook_layout(output):
    source = nbformat.read(SAMPLE / "source.ipynb", as_version=4)
    nb = nbformat.read(output.notebook, as_version=4)
    assert nb.cells[0].source == source.cells[0].source and "google.colab" in nb.cells[0].source
    assert nb.cells[0].metadata["tags"] == ["remove-cell"]
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("# ")
    assert nb.cells[2].metadata["autograder"] == {"role": "checker"}
    assert nb.cells[2].metadata["tags"] == ["hide-input"]
    assert nb.cells[-1].source == "check.all()"
    assert all(c.cell_type != "raw" for c in nb.cells)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    questions = [c.metadata["autograder"]["question"] for c in nb.cells
                 if "question" in c.metadata.get("autograder", {})]
    assert sorted(set(questions)) == ["q1", "q2", "q3", "q4", "q5"]
    assert [c.source for c in nb.cells if c.metadata.get("autograder", {}).get("role") ==
            "check"] == [f'check("q{i}")' for i in range(1, 6)] + ["check.all()"]


def test_no_solution_hidden_test_or_discussion_leaks(output):
    text = output.notebook.read_text()
    for secret in ("45 / 60", "model.fit(hours, passed)", "round(100 * part", "0.75",
                   "hidden: true", "<!-- DISCUSSION", "generalises", "# TEST"):
        assert secret not in text, secret
    assert "accuracy = ...  # YOUR ANSWER HERE" in text


def test_bundle_is_private_and_complete(output):
    assert stat.S_IMODE(output.bundle.stat().st_mode) == 0o600
    bundle = json.loads(output.bundle.read_text())
    assert sum(q["points"] for q in bundle["questions"]) == 8
    assert any(t["hidden"] for q in bundle["questions"] for t in q["tests"])
    assert any("45 / 60" in "".join(c["source"]) for c in bundle["reference"]["cells"])


def test_invalid_source_raises_format_error(tmp_path):
    broken = tmp_path / "broken.ipynb"
    nb = nbformat.read(SAMPLE / "source.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if "END QUESTION" not in c.source]
    nbformat.write(nb, broken)
    with pytest.raises(FormatError, match="QUESTION starts before question q1"):
        assign(broken, tmp_path / "out")
