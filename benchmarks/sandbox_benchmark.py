"""What the bubblewrap sandbox costs: kernel start-up and grading, against the plain process.

    python benchmarks/sandbox_benchmark.py [--kernels 20] [--n 30] [--workers 2] [--rounds 2]

Both are measured in the same run, alternating, so a ratio holds when the machine's speed
drifts. The plain process is the fallback used where bubblewrap cannot run: its own uid and
network namespace as root, resource limits, no mount, PID or IPC namespace and no control
group. Printed: median seconds from launch to a kernel that answers (and is bootstrapped),
and seconds per submission for a batch of the sample exercise, with the ratios.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from autograder.assign import assign  # noqa: E402
from autograder.authoring.bundle import read_bundle  # noqa: E402
from autograder.grading.grade import GradeOptions, grade  # noqa: E402
from autograder.sandbox.kernel import KernelSession  # noqa: E402
from autograder.sandbox.query import bootstrap  # noqa: E402
from autograder.sandbox.launch import KernelProcess, Limits, UidLease, Workspace, isolation  # noqa: E402
from grade_benchmark import SAMPLE, make_submissions  # noqa: E402



def kernel_start(limits, uid):
    """Seconds from launch until the kernel answers and is bootstrapped, then cleaned up."""
    workspace = Workspace()
    start = time.perf_counter()
    process = KernelProcess.launch(workspace, uid=uid, limits=limits)
    session = KernelSession(process)
    bootstrap(session)
    seconds = time.perf_counter() - start
    session.close()
    workspace.cleanup()
    return seconds


def batch(bundle, paths, limits, workers, folder):
    out = Path(tempfile.mkdtemp(dir=folder))
    start = time.perf_counter()
    results = grade(bundle, paths, out, GradeOptions(workers=workers, quiet=True,
                                                     limits=limits))
    assert all(r.status == "graded" for r in results), [r.problems for r in results]
    return (time.perf_counter() - start) / len(paths)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=20, help="kernel starts per mode")
    parser.add_argument("--n", type=int, default=30, help="submissions per batch")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="batches per mode")
    parser.add_argument("--uid-base", type=int, default=Limits().uid_base,
                        help="first sandbox uid (as root)")
    args = parser.parse_args(argv)
    modes = {"bubblewrap": Limits(uid_base=args.uid_base),
             "process": Limits(bubblewrap=False, uid_base=args.uid_base)}
    kind, detail = isolation()
    if kind != "bubblewrap":
        sys.exit(f"bubblewrap cannot run here ({detail}); nothing to compare")
    print(f"sandbox: {detail}; running as {'root' if os.geteuid() == 0 else 'a user'}")
    lease = UidLease(args.uid_base, 1) if os.geteuid() == 0 else None
    uid = lease.uids[0] if lease else None
    starts = {mode: [] for mode in modes}
    for _ in range(args.kernels):
        for mode, limits in modes.items():
            starts[mode].append(kernel_start(limits, uid))
    if lease:
        lease.release()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        bundle = read_bundle(assign(SAMPLE / "source.ipynb", folder / "assign",
                                    verify=False).bundle)
        paths = make_submissions(folder / "subs", args.n)
        per = {mode: [] for mode in modes}
        for _ in range(args.rounds):
            for mode, limits in modes.items():
                per[mode].append(batch(bundle, paths, limits, args.workers, folder))
    start_b, start_p = (statistics.median(starts[m]) for m in modes)
    sub_b, sub_p = (statistics.median(per[m]) for m in modes)
    print(f"kernel start to ready, median of {args.kernels}: bubblewrap {start_b:.3f} s, "
          f"plain process {start_p:.3f} s, ratio {start_b / start_p:.2f}")
    print(f"grading, {args.n} submissions x {args.rounds} rounds, {args.workers} workers: "
          f"bubblewrap {sub_b:.3f} s/submission, plain process {sub_p:.3f} s/submission, "
          f"ratio {sub_b / sub_p:.2f}")


if __name__ == "__main__":
    main()
