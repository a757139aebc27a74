"""Generated classes for the course-workflow tests: varied honest answers, a copied pair,
and Canvas- and Moodle-style bulk-download archives with their rosters (made-up people).

Honest answers to q2 (``percent``) and q5 (a reflection) are composed from independent
choices, so no two students write the same thing; the copier takes another student's answers
and renames the variables and rewrites the comments.
"""

import csv
import io
import itertools
import json
import random
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = ROOT / "exercises" / "00-how-to-use"
FIRST = ["Ada", "Ben", "Chiara", "Dmitri", "Esi", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemal", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
         "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zofia", "Amara", "Bruno", "Carmen",
         "Dara", "Elif", "Felix"]
LAST = ["Okafor", "Lindqvist", "Romano", "Petrov", "Mensah", "Haddad", "Kim", "Tanaka",
        "Silva", "Becker", "Yilmaz", "Novak", "Garcia", "Rahman", "Aziz", "Sharma", "Dubois",
        "Costa", "Berg", "Khan", "Iyer", "Horvat", "Zhang", "Lopez", "Demir", "Kowalska",
        "Eze", "Moreau", "Ruiz", "Walsh", "Arslan", "Weber"]

# Four independent parts of a ``percent`` answer, four ways each. Students get the words
# (a, b, c, (a + b + c) mod 4) of a code in which any two differ in at least two parts.
_CHECKS = ["",
           "    if part < 0 or whole < 0:\n        raise ValueError('negative numbers')\n",
           "    part, whole = float(part), float(whole)\n",
           "    assert whole >= 0, 'the whole cannot be negative'\n    assert part >= 0\n"]
_GUARDS = ["    if whole == 0:\n        return None\n{body}",
           "    try:\n{body8}    except ZeroDivisionError:\n        return None\n",
           "    if whole != 0:\n{body8}    return None\n",
           "    if not whole:\n        result = None\n    else:\n{body8}{ret}"]
_BODIES = ["    return round(100 * part / whole, 1)\n",
           "    share = part / whole\n    return round(share * 100, 1)\n",
           "    value = (part * 100.0) / whole\n    rounded = round(value, 1)\n    return rounded\n",
           "    scaled = [part * 100, whole]\n    return round(scaled[0] / scaled[1], ndigits=1)\n"]
_ENDINGS = ["", "\n\nprint(percent(1, 4))\n", "\n\nexample = percent(3, 12)\n",
            "\n\nfor pair in [(1, 2), (2, 0)]:\n    print(pair, percent(*pair))\n"]


def honest_percent(index):
    """A distinct honest ``percent`` for student ``index`` (0..63)."""
    a, b, c = index % 4, (index // 4) % 4, (index // 16) % 4
    d = (a + b + c) % 4
    body = _BODIES[b]
    body8 = "".join("    " + line + "\n" for line in body.splitlines())
    if a == 3:  # the result is assigned, then returned once
        body8 = body8.replace("return ", "result = ")
        code = _GUARDS[a].format(body8=body8, ret="    return result\n", body=body)
    else:
        code = _GUARDS[a].format(body=body, body8=body8, ret="")
    return "def percent(part, whole):\n" + _CHECKS[c] + code + _ENDINGS[d]


_SENTENCES = [
    "Testing on the training data only shows how well the model memorised it.",
    "New hours are the real question, because a student will ask about a new case.",
    "The grader keeps its own answers so the notebook cannot simply print what it expects.",
    "If a model only repeats its examples, it will fail on a student it has never seen.",
    "Held-out data plays the part of the future in a small experiment.",
    "Accuracy on seen data is flattering and tells us little about usefulness.",
    "A fair check needs examples the model did not learn from.",
    "This is the same reason exams use questions students have not practised.",
    "Overfitting means learning noise, and only unseen cases reveal it.",
    "The hidden tests stop a notebook from hard-coding the expected output.",
    "Policy makers should ask which data a claimed accuracy was measured on.",
    "Generalisation is the whole point of learning from examples.",
    "A model that scores perfectly at home can still embarrass itself in the field.",
    "Independent checking is a habit worth keeping beyond this course.",
    "Numbers reported by a developer deserve a test on fresh cases.",
    "The pass mark here depends on predictions, not on printed text.",
]


def _reflection_sets():
    """4-sentence subsets of the 16 sentences, any two sharing at most two sentences."""
    chosen = []
    for subset in itertools.combinations(range(len(_SENTENCES)), 4):
        if all(len(set(subset) & set(other)) <= 2 for other in chosen):
            chosen.append(subset)
    random.Random(1).shuffle(chosen)
    return chosen


_REFLECTIONS = _reflection_sets()


def honest_reflection(index):
    """A reflection of four sentences for student ``index`` (at most two shared with any)."""
    return " ".join(_SENTENCES[i] for i in _REFLECTIONS[index % len(_REFLECTIONS)])


def notebook(percent_code, reflection):
    """The sample correct submission with these answers to q2 and q5."""
    nb = json.loads((EXERCISE / "submissions" / "correct.ipynb").read_text())
    for cell in nb["cells"]:
        question = cell.get("metadata", {}).get("autograder", {}).get("question")
        if question == "q2":
            cell["source"] = percent_code
        elif question == "q5":
            cell["source"] = f'reflection_q5 = """{reflection}"""\n'
    return json.dumps(nb)


def disguise(percent_code, reflection):
    """A copy with renamed variables, new comments and the same logic and words."""
    renamed = (percent_code.replace("part", "numerator").replace("whole", "denominator")
               .replace("share", "fraction").replace("value", "result")
               .replace("pct", "answer"))
    renamed = renamed.replace('"""Percentage', '"""Compute the percentage') + \
        "    # end of my function\n"
    return renamed, reflection.replace(".", ". ").replace("  ", " ")


def make_class(n=30, seed=7):
    """``[(name, notebook JSON)]``: ``n`` students, the last one copying student 3."""
    people = [(f"{FIRST[i]} {LAST[(i * 7) % len(LAST)]}") for i in range(n)]
    work = []
    for i, name in enumerate(people[:-1]):
        work.append((name, notebook(honest_percent(i), honest_reflection(seed + i))))
    code, text = disguise(honest_percent(3), honest_reflection(seed + 3))
    work.append((people[-1], notebook(code, text)))
    return work


def canvas(folder, work, late=(), absent=(), stray=True):
    """A Canvas archive and gradebook export; returns ``(archive, roster, {name: id})``."""
    folder = Path(folder)
    ids = {name: str(4800 + i) for i, (name, _) in enumerate(work)}
    archive = folder / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i, (name, text) in enumerate(work):
            if name in absent:
                continue
            first, last = name.split(" ", 1)
            sortable = (last + first).lower()
            mark = "_LATE" if name in late else ""
            z.writestr(f"{sortable}{mark}_{ids[name]}_{90000 + i}_ex00-how-to-use.ipynb", text)
        if stray:
            z.writestr("visitorvera_99999_123_ex00-how-to-use.ipynb", work[0][1])
    roster = folder / "gradebook.csv"
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
             "ex00-how-to-use (4567)", "Current Score"],
            ["    Points Possible", "", "", "", "", "10", "(read only)"]]
    for name, _ in work:
        first, last = name.split(" ", 1)
        login = f"{first[0]}{last}".lower()
        rows.append([f"{last}, {first}", ids[name], f"S{ids[name]}", login, "Section A", "",
                     ""])
    roster.write_text(_csv(rows))
    return archive, roster, {name: f"{name.split(' ', 1)[0][0]}{name.split(' ', 1)[1]}".lower()
                             for name, _ in work}


def moodle(folder, work, times, absent=(), stray=True, folders=True):
    """A Moodle archive and grading worksheet; ``times`` maps name -> Moodle time text."""
    folder = Path(folder)
    numbers = {name: str(310000 + i) for i, (name, _) in enumerate(work)}
    archive = folder / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, text in work:
            if name in absent:
                continue
            prefix = f"{name}_{numbers[name]}_assignsubmission_file"
            z.writestr(f"{prefix}/ex00.ipynb" if folders else f"{prefix}_ex00.ipynb", text)
        if stray:
            z.writestr("Visitor Vera_999999_assignsubmission_file/ex00.ipynb", work[0][1])
    roster = folder / "worksheet.csv"
    rows = [["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
             "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
             "Feedback comments"]]
    for name, _ in work:
        email = name.lower().replace(" ", ".") + "@example.edu"
        rows.append([f"Participant {numbers[name]}", name, email,
                     "No submission" if name in absent else "Submitted for grading", "",
                     "10.00", "Yes", "-" if name in absent else times[name], "-", ""])
    roster.write_text(_csv(rows))
    return archive, roster, {name: name.lower().replace(" ", ".") + "@example.edu"
                             for name, _ in work}


def _csv(rows):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


__all__ = ["make_class", "canvas", "moodle", "honest_percent", "honest_reflection"]
