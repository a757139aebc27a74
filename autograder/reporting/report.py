"""Render results: the student's feedback page, Gradescope JSON, the gradebook and a summary.

Student-facing output shows test names, pass/fail, hints and what went wrong with the
student's own code; never test source, expected values or instructor-only details.
"""

import base64
import csv
import html
import io
import json
import statistics
from array import array

from matplotlib.figure import Figure

__all__ = ["feedback_html", "gradescope_json", "gradebook_csv", "summary_html", "html_page"]

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
          "line-height:1.5;color:#1a1a1a}table{border-collapse:collapse;width:100%;"
          "margin:.5rem 0 1.5rem}th,td{border:1px solid #888;padding:.35rem .5rem;"
          "text-align:left;vertical-align:top}th{background:#eee}.pass{color:#0b6b0b}"
          ".fail{color:#a00000}img{max-width:100%;height:auto}")


def html_page(title, body, style=None):
    """A whole self-contained page: ``body`` (HTML) in ``<main>``, with the report style or
    ``style``; it works from file:// and on a phone-width screen."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{style or _STYLE}</style>\n"
            f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def feedback_html(result, title):
    """The feedback page for one student (headings in order, a table per question)."""
    e = html.escape
    parts = [f"<h1>Feedback: {e(title)}</h1>",
             f"<p>Student: <strong>{e(result.student)}</strong>. Score: "
             f"<strong>{result.score:g} of {result.max:g}</strong> points.</p>"]
    if result.status != "graded":
        parts.append("<p>Your notebook could not be graded; see the problems below.</p>")
    parts.append(_late_html(result))
    for q in result.questions:
        parts.append(f"<h2>Question {e(q.id)}: {q.score:g} of {q.max:g} points</h2>")
        parts.append(_manual_html(q))
        parts.append(_tests_table(q))
    if result.problems:
        parts.append("<h2>Problems while running your notebook</h2><ul>")
        parts += [f"<li>{e(p.message)}</li>" for p in result.problems]
        parts.append("</ul>")
    if result.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in result.notes)
                     + "</ul>")
    return html_page(f"Feedback: {title} ({result.student})", "\n".join(parts))


def _late_html(result):
    """Submission time, deadline, days late, penalty and score before it (empty if none)."""
    e = html.escape
    if result.late:
        late = result.late
        raw = result.raw_score if result.raw_score is not None else result.score
        return (f"<p>Submitted {e(late['submitted_at'])}, {late['days_late']} day"
                f"{'s' if late['days_late'] != 1 else ''} after the deadline "
                f"({e(late['deadline'])}). Late penalty: {late['penalty']:g} points "
                f"({e(late['policy'])}); score before the penalty: {raw:g}.</p>")
    if result.submitted_at:
        return f"<p>Submitted {e(result.submitted_at)}, on time.</p>"
    return ""


def _manual_html(question):
    """The reviewer's points and comment, when a person scored the question."""
    if not question.manual:
        return ""
    comment = question.manual.get("comment") or ""
    auto = ("" if question.auto_score is None
            else f" (the automatic tests gave {question.auto_score:g})")
    return (f"<p>Scored by your instructor: {question.manual['points']:g} of "
            f"{question.max:g} points{auto}.</p>"
            + (f"<blockquote><p>{html.escape(comment)}</p></blockquote>" if comment else ""))


def _tests_table(question):
    e = html.escape
    rows = []
    for test in question.tests:
        state = ('<span class="pass">passed</span>' if test.passed
                 else '<span class="fail">failed</span>')
        details = "" if test.passed else " ".join(p for p in (test.hint, test.message) if p)
        rows.append(f"<tr><td>{e(test.name)}</td><td>{state}</td>"
                    f"<td>{test.score:g} / {test.points:g}</td><td>{e(details)}</td></tr>")
    return (f"<table><caption>Tests of question {e(question.id)}</caption><thead><tr>"
            '<th scope="col">Test</th><th scope="col">Result</th><th scope="col">Points</th>'
            f'<th scope="col">Hint</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def gradescope_json(result):
    """Gradescope's ``results.json`` for one submission."""
    tests = [{"name": f"{q.id}: {t.name}", "score": t.score, "max_score": t.points,
              "output": t.student_text(),
              "visibility": "after_published" if t.hidden else "visible"}
             for q in result.questions for t in q.tests]
    output = "\n".join(p.message for p in result.problems)
    output += ("\n" if output and result.notes else "") + "\n".join(result.notes)
    return json.dumps({"score": result.score, "output": output, "tests": tests,
                       "stdout_visibility": "hidden"}, indent=1)


def gradebook_csv(results, questions):
    """CSV text: ``student``, one column per question, ``total``, ``status``, then
    ``raw_total`` (before the late penalty), ``late_penalty``, ``days_late`` and
    ``submitted_at``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *questions, "total", "status", "raw_total", "late_penalty",
                     "days_late", "submitted_at"])
    for result in results:
        scores = result.question_scores()
        late = result.late or {}
        raw = result.raw_score if result.raw_score is not None else result.score
        writer.writerow([result.student, *(f"{scores.get(q, 0.0):g}" for q in questions),
                         f"{result.score:g}", result.status, f"{raw:g}",
                         f"{late.get('penalty', 0.0):g}", late.get("days_late", 0),
                         result.submitted_at or ""])
    return buffer.getvalue()


def summary_html(results, assignment):
    """Batch summary: a table of statistics per question and a histogram figure.

    ``results`` may be any iterable (it is read once, keeping only the scores), so a
    batch of any size is summarised without holding its results.
    """
    columns = [(q.id, q.points) for q in assignment.questions] + [("total", assignment.points)]
    scores = {qid: array("d") for qid, _ in columns}
    count = graded = 0
    for result in results:
        count += 1
        if result.status != "graded":
            continue
        graded += 1
        for qid, _ in columns:
            scores[qid].append(_score(result, qid))
    rows = [(qid, points, scores[qid]) for qid, points in columns]
    table = _stats_table(rows)
    figure = _histograms(rows) if graded else ""
    failed = count - graded
    body = (f"<h1>Summary: {html.escape(assignment.title)}</h1>"
            f"<p>{count} submissions: {graded} graded, {failed} could not be "
            "graded.</p><h2>Scores per question</h2>" + table
            + ("<h2>Score distributions</h2>" + figure if figure else ""))
    return html_page(f"Summary: {assignment.title}", body)


def _score(result, qid):
    return result.score if qid == "total" else result.question_scores().get(qid, 0.0)


def _stats_table(rows):
    body = []
    for qid, points, scores in rows:
        if scores:
            cells = [statistics.mean(scores), statistics.median(scores), min(scores),
                     max(scores)]
            full = 100 * sum(s >= points for s in scores) / len(scores)
            text = [f"{c:.2f}" for c in cells] + [f"{full:.0f}%"]
        else:
            text = ["-"] * 5
        body.append(f"<tr><th scope=\"row\">{html.escape(qid)}</th><td>{points:g}</td>"
                    + "".join(f"<td>{t}</td>" for t in text) + "</tr>")
    head = "".join(f'<th scope="col">{h}</th>' for h in
                   ("Question", "Points", "Mean", "Median", "Min", "Max", "Full marks"))
    return (f"<table><caption>Score statistics over graded submissions</caption><thead><tr>"
            f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _histograms(rows):
    figure = Figure(figsize=(2.6 * len(rows), 2.4), dpi=90, layout="constrained")
    axes = figure.subplots(1, len(rows), squeeze=False)[0]
    for ax, (qid, points, scores) in zip(axes, rows):
        ax.hist(scores, bins=min(10, max(1, int(points * 2) or 1)), range=(0, points or 1),
                color="#3465a4")
        ax.set_title(qid)
        ax.set_xlabel("points")
    axes[0].set_ylabel("submissions")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = "Histograms of scores. " + "; ".join(
        f"{qid}: mean {statistics.mean(s):.2f} of {p:g}" for qid, p, s in rows)
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
