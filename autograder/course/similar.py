"""Similar answers: which students' answers to a question share most of their code.

Fingerprinting is copydetect's (winnowing of k-grams of the tokenised code, Schleimer,
Wilkerson and Aiken 2003): its tokenizer drops whitespace and comments and replaces every
variable, function and class name with one letter, so renaming and re-commenting do not hide a
copy. The starter code the student notebook gave (the bundle's reference with solutions
stubbed out, as students saw it) is passed to copydetect as boilerplate and never counts.
Reflections are prose: their text is fingerprinted as words, lower-cased. Answers with
fewer than 40 characters of tokenised code beyond the starter (``model.fit(X, y)``) are not
compared: that short, honest answers match by coincidence.

For 1,000 students a question has 499,500 pairs. Rather than comparing each, a sparse
student-by-fingerprint matrix product counts the fingerprints every pair shares at once
(leaving out those more than a quarter of the class has: common idioms, as MOSS's ``-m``
does), and only pairs whose count comes near the threshold go on to copydetect's comparison.
"""

import html
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files
from scipy import sparse

from ..authoring.stubs import stub_solutions
from ..exceptions import UsageError
from ..grading.submission import load_submission, student_id
from ..reporting.report import html_page
from ..reporting.results import write_atomic

__all__ = ["Pair", "similar_pairs", "report_html", "main"]

K, WINDOW = 12, 4
COMMON_SHARE = 0.25
MARGIN = 0.25
MIN_LENGTH = 40


@dataclass
class Pair:
    """Two students' answers to one question and how much of them match.

    Attributes
    ----------
    question, a, b : str
    similarity : float
        The smaller of the two shares of each answer found in the other (0 to 1).
    code_a, code_b : str
    slices_a, slices_b : list of (int, int)
        Matching character ranges in each answer.
    """

    question: str
    a: str
    b: str
    similarity: float
    code_a: str
    code_b: str
    slices_a: list
    slices_b: list


def main(bundle, submissions, *, out, threshold=0.8, question=None, top=50, roster=None,
         lms=None):
    """``autograder similar``: write the HTML report; return the exit status.

    With ``roster``, ``submissions`` is one LMS archive, read as ``autograder grade`` reads it.
    """
    import tempfile
    from ..authoring.bundle import read_bundle
    from .lms import read_archive
    from .roster import read_roster
    bundle = read_bundle(bundle)
    with tempfile.TemporaryDirectory() as staging:
        if roster:
            if len(submissions) != 1:
                raise UsageError("with --roster, give exactly one archive (the LMS's bulk "
                                 "download zip)")
            intake = read_archive(submissions[0], read_roster(roster), Path(staging), lms)
            submissions = sorted(intake.submissions.values())
        pairs, counts = similar_pairs(bundle, submissions, threshold=threshold,
                                      question=question)
    write_atomic(out, report_html(bundle, pairs, threshold, counts, top))
    flagged = sum(p.similarity >= threshold for p in pairs)
    print(f"{out}: {flagged} pairs at or above {threshold:g} similarity "
          f"({counts['students']} students, {counts['compared']:,} pairs compared)")
    return 0


def similar_pairs(bundle, paths, *, threshold=0.8, question=None, staging=None):
    """Pairs of answers at or above ``threshold``, most similar first, and counts.

    Parameters
    ----------
    bundle : Bundle
    paths : list of path
        Submissions (files, folders, zips) as ``autograder grade`` takes them.
    threshold : float
        Similarity (0 to 1) from which a pair is reported.
    question : str, optional
        Only this question.
    """
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold {threshold} must be above 0 and at most 1")
    questions = [q for q in bundle.assignment.questions if question in (None, q.id)]
    if not questions:
        raise UsageError(f"--question {question!r} is not in the bundle; its questions are "
                         f"{', '.join(q.id for q in bundle.assignment.questions)}")
    answers = _answers(paths, staging)
    starter = _starter(bundle)
    pairs, compared = [], 0
    for q in questions:
        prose = q.kind == "reflection"
        prints = {s: _fingerprint(code.get(q.id, ""), prose, starter.get(q.id, ""))
                  for s, code in answers.items() if code.get(q.id, "").strip()}
        prints = {s: fp for s, fp in prints.items() if len(fp.hashes) and
                  len(fp.filtered_code) - _starter_length(starter.get(q.id, ""), prose)
                  >= MIN_LENGTH}
        for a, b in _candidates(prints, threshold):
            compared += 1
            _, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
            score = float(min(share_a, share_b))
            if score >= threshold:
                pairs.append(Pair(q.id, a, b, round(score, 3), prints[a].raw_code,
                                  prints[b].raw_code, _ranges(slices_a), _ranges(slices_b)))
    pairs.sort(key=lambda p: (-p.similarity, p.question, p.a, p.b))
    return pairs, {"students": len(answers), "compared": compared}


def _answers(paths, staging):
    """``{student: {question: answer cells' source}}``; unreadable submissions are skipped."""
    import tempfile
    answers = {}
    with tempfile.TemporaryDirectory(dir=staging) as tmp:
        for path in map(Path, paths):
            submission = load_submission(path, Path(tmp))
            if submission.error:
                continue
            per_question = defaultdict(list)
            for cell in submission.cells:
                if cell.question:
                    per_question[cell.question].append(cell.source)
            answers[student_id(path)] = {q: "\n\n".join(c) for q, c in per_question.items()}
    if len(answers) < 2:
        raise UsageError(f"{len(answers)} readable submissions were given; comparing needs at "
                         "least two (give the files, folders or zips you graded)")
    return answers


def _starter(bundle):
    """``{question: the code students were given}`` from the bundle's reference notebook."""
    starter = defaultdict(list)
    for cell in bundle.reference.get("cells", []):
        meta = cell.get("metadata", {}).get("autograder", {})
        qid = meta.get("question") if isinstance(meta, dict) else None
        if qid and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            try:
                starter[qid].append(stub_solutions(source))
            except Exception:  # noqa: BLE001 - an unstubbable cell: no boilerplate for it
                continue
    return {q: "\n\n".join(c) for q, c in starter.items()}


def _fingerprint(code, prose, starter):
    if prose:
        code = " ".join(re.findall(r"\w+", _strings(code).lower()))
        starter = " ".join(re.findall(r"\w+", _strings(starter).lower()))
    boilerplate = _print(starter, prose).hashes if starter.strip() else []
    return _print(code, prose, boilerplate)


def _print(text, prose, boilerplate=()):
    """copydetect's fingerprint of Python code, or of prose as it is (no tokenizer)."""
    return CodeFingerprint("answer.txt" if prose else "answer.py", K, WINDOW,
                           boilerplate=list(boilerplate), filter=not prose,
                           fp=io.StringIO(text))


def _starter_length(starter, prose):
    if not starter.strip():
        return 0
    if prose:
        starter = " ".join(re.findall(r"\w+", _strings(starter).lower()))
    return len(_print(starter, prose).filtered_code)


def _strings(code):
    """The text of a reflection cell's string literals (the prose), else the cell."""
    found = re.findall(r'"""(.*?)"""|\'\'\'(.*?)\'\'\'', code, re.S)
    return " ".join(a or b for a, b in found) if found else code


def _candidates(prints, threshold):
    """Pairs whose shared fingerprints could reach ``threshold``, from a sparse product.

    A student-by-fingerprint matrix times its transpose counts the fingerprints each pair
    shares; fingerprints more than a quarter of the class has are left out of the counts. A
    pair goes on to copydetect's exact comparison when its shared count, over the larger of
    its two counts, is within :data:`MARGIN` of the threshold (identical answers: 1).
    """
    students = sorted(prints)
    vocabulary, rows, cols = {}, [], []
    for row, student in enumerate(students):
        for value in set(prints[student].hashes):
            rows.append(row)
            cols.append(vocabulary.setdefault(value, len(vocabulary)))
    if not vocabulary:
        return []
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                               shape=(len(students), len(vocabulary)))
    owners = np.asarray(matrix.sum(axis=0)).ravel()
    limit = max(2, int(COMMON_SHARE * len(students)))
    kept = matrix[:, np.flatnonzero(owners <= limit)]
    sizes = np.maximum(np.asarray(kept.sum(axis=1)).ravel(), 1)
    shared = sparse.triu(kept @ kept.T, k=1).tocoo()
    estimate = shared.data / np.maximum(sizes[shared.row], sizes[shared.col])
    chosen = estimate >= threshold - MARGIN
    return [(students[a], students[b])
            for a, b in zip(shared.row[chosen].tolist(), shared.col[chosen].tolist())]


def _ranges(slices):
    return [(int(a), int(b)) for a, b in zip(*slices)] if len(slices) == 2 else []


def report_html(bundle, pairs, threshold, counts, top=50):
    """The report: a table of the most similar pairs, then each pair side by side."""
    e = html.escape
    shown = pairs[:top]
    rows = "".join(f'<tr><td><a href="#pair{i}">{e(p.question)}</a></td><td>{e(p.a)}</td>'
                   f"<td>{e(p.b)}</td><td>{p.similarity:.0%}</td></tr>"
                   for i, p in enumerate(shown))
    sections = "".join(_pair_html(i, p) for i, p in enumerate(shown))
    body = (f"<h1>Similar answers: {e(bundle.assignment.title)}</h1>"
            f"<p>{counts['students']} students; {counts['compared']:,} pairs of answers "
            f"compared; {len(pairs)} pairs at or above {threshold:.0%} similarity"
            + (f" (the {top} most similar shown)" if len(pairs) > top else "") + ". "
            "Similarity is the share of each answer found in the other (the smaller of the "
            "two), after removing the starter code, comments, whitespace and names. A high "
            "score is a reason to look, not proof of copying: short answers can match "
            "honestly.</p>"
            + ("<table><caption>Most similar pairs</caption><thead><tr><th scope=\"col\">"
               "Question</th><th scope=\"col\">Student</th><th scope=\"col\">Student</th>"
               f"<th scope=\"col\">Similarity</th></tr></thead><tbody>{rows}</tbody></table>"
               if shown else "<p>No pair reached the threshold.</p>") + sections)
    return html_page(f"Similar answers: {bundle.assignment.title}", body, _STYLE)


def _pair_html(number, pair):
    e = html.escape
    return (f'<section id="pair{number}"><h2>Question {e(pair.question)}: {e(pair.a)} and '
            f"{e(pair.b)} ({pair.similarity:.0%})</h2><div class=\"pair\">"
            f"<figure><figcaption>{e(pair.a)}</figcaption><pre>"
            f"{_marked(pair.code_a, pair.slices_a)}</pre></figure>"
            f"<figure><figcaption>{e(pair.b)}</figcaption><pre>"
            f"{_marked(pair.code_b, pair.slices_b)}</pre></figure></div></section>")


def _marked(code, slices):
    """``code`` escaped, with the matching ranges in ``<mark>``."""
    out, last = [], 0
    for start, end in sorted(slices):
        start, end = max(start, last), min(end, len(code))
        if start >= end:
            continue
        out += [html.escape(code[last:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        last = end
    out.append(html.escape(code[last:]))
    return "".join(out)


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:80rem;margin:2rem auto;padding:0 "
          "1rem;line-height:1.5;color:#1a1a1a}table{border-collapse:collapse}th,td{border:1px "
          "solid #888;padding:.3rem .6rem;text-align:left}.pair{display:flex;flex-wrap:wrap;"
          "gap:1rem}figure{flex:1 1 30rem;margin:0;min-width:0}pre{white-space:pre-wrap;"
          "word-break:break-word;background:#f6f6f6;padding:.5rem}mark{background:#ffe08a}")
