"""Manual review: a page per question to score answers by hand, and merging those scores.

``autograder review BUNDLE OUT`` writes ``review-<question>.html`` for every reflection and
every code question marked ``manual: true``: one self-contained page (no network, works from
``file://``) with the question's discussion and rubric and every student's answer, each with
a points box and a comment box. What the reviewer types is kept in the browser
(``localStorage``) and leaves the page as a CSV (``student,question,points,comment``) by the
"Download scores" button. ``autograder review BUNDLE OUT --merge scores.csv`` checks that file
completely, then stores the scores (``OUT/<student>/manual.json``) and rewrites the affected
results, feedback pages and the gradebook. Regrades keep them.

Student text reaches the page only as JSON inside a ``<script type="application/json">``
block with ``<`` escaped, and is put on screen with ``textContent``: it is never markup.
"""

import csv
import html
import json
import math
from pathlib import Path

from ..exceptions import UsageError
from ..grading.grade import refresh
from ..reporting.results import ResultStore, write_atomic

__all__ = ["review_pages", "review_page", "merge", "main"]

_COLUMNS = ("student", "question", "points", "comment")


def main(bundle, results, *, question=None, out=None, merge_csv=None):
    """``autograder review``: write the pages, or merge a scores CSV; return the status."""
    from ..authoring.bundle import read_bundle
    bundle = read_bundle(bundle)
    if merge_csv:
        changed = merge(bundle, results, merge_csv)
        print(f"{merge_csv}: {sum(len(v) for v in changed.values())} scores merged for "
              f"{len(changed)} students; results, feedback and gradebook.csv rewritten")
        return 0
    for path, count in review_pages(bundle, results, out, question):
        print(f"{path}: {count} answers")
    return 0


def review_pages(bundle, results, out=None, question=None):
    """Write one review page per reviewed question; yield ``(path, number of answers)``."""
    questions = [q for q in bundle.assignment.questions if q.reviewed]
    if question is not None:
        questions = [q for q in bundle.assignment.questions if q.id == question]
        if not questions:
            raise UsageError(f"--question {question!r} is not in the bundle; its questions "
                             f"are {', '.join(q.id for q in bundle.assignment.questions)}")
    if not questions:
        raise UsageError("no question needs review (no reflection, and no question has "
                         "`manual: true`); give --question ID to review one anyway")
    store = ResultStore(results)
    stored = store.all_results(bundle.assignment.id)
    if not stored:
        raise UsageError(f"{results} holds no results of {bundle.assignment.id}; grade first "
                         "(`autograder grade ... --out` this folder)")
    out = Path(out) if out else store.root / "review"
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    for q in questions:
        path = out / f"review-{q.id}.html"
        text, count = review_page(bundle, q, stored)
        write_atomic(path, text)
        yield path, count


def review_page(bundle, question, results):
    """The page's HTML and its number of answers."""
    answers = []
    for result in results:
        entry = next((r for r in result.questions if r.id == question.id), None)
        if entry is None:
            continue
        text = entry.answer_text if question.kind == "reflection" else entry.answer_code
        manual = entry.manual or {}
        answers.append({"s": result.student, "a": text or "",
                        "auto": entry.auto_score if entry.auto_score is not None
                        else entry.score,
                        "p": manual.get("points"), "c": manual.get("comment", ""),
                        "status": result.status})
    data = {"assignment": bundle.assignment.id, "question": question.id,
            "max": question.points, "answers": answers}
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    title = f"Review: {bundle.assignment.title}, question {question.id}"
    e = html.escape
    guide = ""
    if question.discussion:
        guide += f"<h2>The author's discussion</h2><div class=\"md\">{e(question.discussion)}</div>"
    if question.rubric:
        guide += f"<h2>Rubric</h2><div class=\"md\">{e(question.rubric)}</div>"
    page = _TEMPLATE.format(title=e(title), guide=guide, points=f"{question.points:g}",
                            count=len(answers), data=blob, style=_STYLE, script=_SCRIPT)
    return page, len(answers)


def merge(bundle, results, path):
    """Validate a scores CSV and store its scores; return ``{student: {question: score}}``.

    Every line is checked before anything is written, so a bad file changes nothing.

    Raises
    ------
    UsageError
        Listing each bad line (file, line, what is wrong and the fix).
    """
    path, store = Path(path), ResultStore(results)
    known = {r.student: r for r in store.all_results(bundle.assignment.id)}
    maxima = {q.id: q.points for q in bundle.assignment.questions}
    rows = _read_scores(path)
    changes, errors = {}, []
    for line, row in rows:
        problem = _check_row(row, known, maxima)
        if problem:
            errors.append(f"{path}, line {line}: {problem}")
            continue
        if row["points"].strip() == "":
            continue  # not scored yet
        changes.setdefault(row["student"], {})[row["question"]] = {
            "points": float(row["points"]), "comment": row.get("comment") or ""}
    if errors:
        more = f"\n(and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise UsageError("the scores file has problems; fix them and merge again (nothing "
                         "was changed):\n" + "\n".join(errors[:20]) + more)
    for student, scores in changes.items():
        store.save_manual(student, {**store.manual(student), **scores})
    if changes:
        refresh(bundle, results, students=changes)
    return changes


def _read_scores(path):
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _COLUMNS[:3] if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{path}, line 1: the header needs the columns "
                                 f"{','.join(_COLUMNS)} (missing: {', '.join(missing)}); use "
                                 "the file the review page's Download button wrote")
            return [(n, row) for n, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read the scores file {path} ({exc})") from None


def _check_row(row, known, maxima):
    student, question = (row.get("student") or "").strip(), (row.get("question") or "").strip()
    row["student"], row["question"] = student, question
    if student not in known:
        return f"no result for student {student!r}; check the id against gradebook.csv"
    if question not in maxima:
        return (f"unknown question {question!r}; the questions are "
                f"{', '.join(maxima)}")
    text = (row.get("points") or "").strip()
    row["points"] = text
    if text == "":
        return None
    try:
        points = float(text)
    except ValueError:
        return f"points {text!r} is not a number; write e.g. 1.5"
    if not math.isfinite(points) or not 0 <= points <= maxima[question]:
        return (f"points {text} is outside 0 to {maxima[question]:g} (question "
                f"{question}'s maximum)")
    return None


_STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:0 1rem;
line-height:1.5;color:#1a1a1a}
.md{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;border-left:4px solid #3465a4}
fieldset{border:1px solid #888;margin:1rem 0;padding:.5rem 1rem}
legend{font-weight:bold}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.5rem;
max-height:24rem;overflow:auto}
label{display:block;margin-top:.4rem}
textarea{width:100%;min-height:3rem}
.bar{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #888}
button{font-size:1rem;padding:.3rem .8rem;margin-right:.5rem}
:focus{outline:3px solid #f0a000}
"""

_SCRIPT = r"""
(function(){
const data = JSON.parse(document.getElementById('answers').textContent);
const key = 'autograder-review:' + data.assignment + ':' + data.question;
let saved = {};
try { saved = JSON.parse(localStorage.getItem(key) || '{}'); } catch (e) { saved = {}; }
const list = document.getElementById('list');
const status = document.getElementById('status');
let shown = 0;
const STEP = 100;
function store(){ try { localStorage.setItem(key, JSON.stringify(saved)); } catch (e) {} }
function value(a){ return saved[a.s] || {p: a.p === null ? '' : String(a.p), c: a.c || ''}; }
function count(){
  let n = 0;
  for (const a of data.answers) { if (value(a).p !== '') n++; }
  status.textContent = n + ' of ' + data.answers.length + ' answers scored';
}
function entry(a, i){
  const f = document.createElement('fieldset');
  const l = document.createElement('legend');
  l.textContent = a.s + ' (tests gave ' + a.auto + ' of ' + data.max + ')';
  f.appendChild(l);
  const pre = document.createElement('pre');
  pre.textContent = a.a || '(no answer)';
  pre.tabIndex = 0;
  pre.setAttribute('aria-label', 'Answer of ' + a.s);
  f.appendChild(pre);
  const v = value(a);
  const pl = document.createElement('label');
  pl.textContent = 'Points for ' + a.s + ' (0 to ' + data.max + ')';
  pl.htmlFor = 'p' + i;
  const p = document.createElement('input');
  p.type = 'number'; p.min = 0; p.max = data.max; p.step = 'any'; p.id = 'p' + i;
  p.value = v.p;
  const cl = document.createElement('label');
  cl.textContent = 'Comment to ' + a.s;
  cl.htmlFor = 'c' + i;
  const c = document.createElement('textarea');
  c.id = 'c' + i; c.value = v.c;
  function save(){
    const n = p.value === '' ? '' : Number(p.value);
    p.setCustomValidity(n === '' || (n >= 0 && n <= data.max) ? '' :
                        'Points must be between 0 and ' + data.max);
    saved[a.s] = {p: p.value, c: c.value}; store(); count();
  }
  p.addEventListener('input', save); c.addEventListener('input', save);
  f.append(pl, p, cl, c);
  return f;
}
function more(){
  const end = Math.min(shown + STEP, data.answers.length);
  const frag = document.createDocumentFragment();
  for (let i = shown; i < end; i++) frag.appendChild(entry(data.answers[i], i));
  list.appendChild(frag);
  shown = end;
  document.getElementById('more').hidden = shown >= data.answers.length;
}
function cell(t){ t = String(t); return /[",\n\r]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t; }
document.getElementById('more').addEventListener('click', more);
document.getElementById('download').addEventListener('click', function(){
  const lines = ['student,question,points,comment'];
  for (const a of data.answers) {
    const v = value(a);
    if (v.p !== '') lines.push([a.s, data.question, v.p, v.c].map(cell).join(','));
  }
  const blob = new Blob([lines.join('\n') + '\n'], {type: 'text/csv'});
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = 'scores-' + data.assignment + '-' + data.question + '.csv';
  document.body.appendChild(link); link.click(); link.remove();
});
more(); count();
document.body.dataset.ready = 'yes';
})();
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>Score each answer from 0 to {points} points and add a comment for the student. What you
type is kept in this browser. When done, press "Download scores" and merge the file:
<code>autograder review BUNDLE OUT --merge scores.csv</code>.</p>
{guide}
<h2>Answers ({count})</h2>
<div class="bar"><button type="button" id="download">Download scores (CSV)</button>
<span id="status" role="status" aria-live="polite"></span></div>
<div id="list"></div>
<button type="button" id="more">Show more answers</button>
</main>
<script type="application/json" id="answers">{data}</script>
<script>{script}</script>
</body>
</html>
"""
