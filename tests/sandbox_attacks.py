"""Submissions that attack the sandbox, one per failure class, as notebook cell sources.

Each is answered honestly in the end, so it must earn exactly :data:`EXPECTED`; what it tried
is then checked on the host by ``tests/test_sandbox.py``. ``MARK`` names every file, process
and IPC object they make, so a leftover is easy to find.
"""

import json

MARK = "agmark7d1e"
HONEST_Q2 = "def double(x):\n    return 2 * x"

ATTACKS = {
    # Class 2: links planted where a root grader used to write, then a crash so the kernel is
    # replaced; also an IPython startup file that would run before the answering function.
    "planted_links": [
        f"""import os
targets = ["kernel.json", ".k-1", "k-1", "/run/kernel/k-9", "/run/kernel/kernel.json"]
for name in targets:
    try:
        os.symlink("/etc/{MARK}-" + name.strip("/").replace("/", "_"), name)
    except OSError:
        pass
os.makedirs(".ipython/profile_default/startup", exist_ok=True)
with open(".ipython/profile_default/startup/00.py", "w") as handle:
    handle.write("secret_answer = 'startup ran'\\nopen('/etc/{MARK}-startup', 'w')\\n")
os._exit(1)""",
        ("q1", "secret_answer = globals().get('secret_answer', 0)"),
        ("q2", HONEST_Q2),
        ("q3", "name = 'Ada'"),
    ],
    # Class 3: processes meant to outlive the submission (a setsid daemon, a double fork, a
    # process whose main thread has exited while another thread runs).
    "leftovers": [
        f"""import subprocess, sys
daemon = "import os, time\\nos.setsid()\\nif os.fork() == 0:\\n    time.sleep(600)\\n"
ghost = ("import threading, time, ctypes\\n"
         "threading.Thread(target=time.sleep, args=(600,)).start()\\n"
         "ctypes.CDLL(None).pthread_exit(None)\\n")
for code in (daemon, ghost):
    subprocess.Popen([sys.executable, "-c", code, "{MARK}"], start_new_session=True)""",
        ("q1", "secret_answer = 0"),
        ("q2", HONEST_Q2),
        ("q3", "name = 'Ada'"),
    ],
    # Class 4: shared places: files in /tmp, /var/tmp, /dev/shm, SysV shared memory and a
    # POSIX message queue, left for the next student; and the same places read back.
    "shared_places": [
        f"""import ctypes, os
for folder in ("/tmp", "/var/tmp", "/dev/shm", "."):
    try:
        with open(os.path.join(folder, "{MARK}"), "w") as handle:
            handle.write("left behind")
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
segment = libc.shmget(0x4a4b4c4d, 4096, 0o1666)
librt = ctypes.CDLL("librt.so.1", use_errno=True)
librt.mq_open.restype = ctypes.c_int
queue = librt.mq_open(b"/{MARK}", os.O_CREAT | os.O_RDWR, 0o666, None)""",
        ("q1", "secret_answer = 0"),
        ("q2", HONEST_Q2),
        ("q3", "name = 'Ada'"),
    ],
    "shared_reader": [
        f"""import ctypes, os
seen = [p for p in ("/tmp", "/var/tmp", "/dev/shm") if os.path.exists(os.path.join(p, "{MARK}"))]
libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0x4a4b4c4d, 0, 0) != -1:
    seen.append("shm")
if os.path.exists("/dev/mqueue/{MARK}"):
    seen.append("mqueue")""",
        ("q1", "secret_answer = 0"),
        ("q2", HONEST_Q2),
        ("q3", "name = 'Ada' if not seen else 'Eve'"),
    ],
    # Class 4: reading and writing beyond its own folder: the bundle, the sources in the
    # checkout, classmates' notebooks named in other processes' command lines; writing into
    # the interpreter, the checkout or the system.
    "snoop": [
        """import os, re, sys, time
found = None
def scan(path):
    global found
    try:
        with open(path, errors="ignore") as handle:
            match = re.search(r"== (\\d{6,})", handle.read(2_000_000))
    except OSError:
        return
    found = found or (int(match.group(1)) if match else None)
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        words = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
    except OSError:
        continue
    for word in words:
        if os.path.isfile(word):
            scan(word)
start = time.time()
for top in ("/", os.path.dirname(sys.prefix), os.path.dirname(os.path.dirname(sys.prefix))):
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        if time.time() - start > 2:
            break
        for file in files:
            if file.endswith((".json", ".ipynb")):
                scan(os.path.join(folder, file))
wrote = []
for folder in (sys.prefix, os.path.dirname(sys.prefix), "/etc", "/usr", "/root", "/work", "/",
               "/run/submission"):
    try:
        with open(os.path.join(folder, "agmark7d1e"), "w"):
            wrote.append(folder)
    except OSError:
        pass""",
        ("q1", "secret_answer = found if found is not None else 0"),
        ("q2", HONEST_Q2),
        # The kernel's own /tmp is private, and holds the folders above an interpreter that
        # lives under /tmp: writing there is allowed; the host side is checked by the test.
        ("q3", "private = ('/tmp/', '/var/tmp/', '/dev/shm/', '/home/student')\n"
               "name = 'Ada' if not [w for w in wrote if not w.startswith(private)] else 'Eve'"),
    ],
    # Class 5: resources: many processes that together want more memory than the limit, and
    # files that would fill the disk.
    "hog": [
        """import subprocess, sys
hogs = [subprocess.Popen([sys.executable, "-c", "b = bytearray(300 * 2**20)"])
        for _ in range(6)]
codes = [h.wait() for h in hogs]""",
        """written = 0
try:
    with open("fill", "wb") as handle:
        while written < 3 * 2**30:
            handle.write(b"x" * 2**20)
            written += 2**20
except OSError:
    pass""",
        ("q1", "secret_answer = 0"),
        ("q2", HONEST_Q2),
        ("q3", "name = 'Ada' if written < 3 * 2**30 else 'Eve'"),
    ],
    # The course's own package and tables are readable; the checkout around them (exercise
    # sources with hidden tests) is not.
    "course_package": [
        """import os, aiopen
from aiopen.datasets import read_table
table = read_table("ch02-fmti-2023")
checkout = os.path.dirname(os.path.dirname(aiopen.__file__))
visible = [p for p in ("exercises", "tests", ".git") if os.path.exists(os.path.join(checkout, p))]""",
        ("q1", "secret_answer = len(table) if len(table) > 0 else 0"),
        ("q2", HONEST_Q2),
        ("q3", "name = 'Ada' if not visible else 'Eve'"),
    ],
    # Class 6: a hidden test's inputs echoed back through an exception message.
    "echo_inputs": [
        ("q1", "secret_answer = 0"),
        ("q2", "def double(x):\n    if x == 2:\n        return 4\n"
               "    raise ValueError(f'unexpected input {x!r}')"),
        ("q3", "name = 'Ada'"),
    ],
}

EXPECTED = {
    "planted_links": {"q1": 1, "q2": 2, "q3": 1},
    "leftovers": {"q1": 1, "q2": 2, "q3": 1},
    "shared_places": {"q1": 1, "q2": 2, "q3": 1},
    "shared_reader": {"q1": 1, "q2": 2, "q3": 1},
    "snoop": {"q1": 1, "q2": 2, "q3": 1},
    "hog": {"q1": 1, "q2": 2, "q3": 1},
    "echo_inputs": {"q1": 1, "q2": 1, "q3": 1},
    "course_package": {"q1": 1, "q2": 2, "q3": 1},
}


def notebook(cells):
    """A minimal nbformat-4 notebook; a ``(question, source)`` pair is an answer cell."""
    out = []
    for cell in cells:
        question, source = cell if isinstance(cell, tuple) else (None, cell)
        meta = {"autograder": {"question": question}} if question else {}
        out.append({"cell_type": "code", "execution_count": None, "metadata": meta,
                    "outputs": [], "source": source})
    return json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
