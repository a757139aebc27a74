"""Plumbing for chapter 7 (compute and the hardware ecosystem).

Counting floating-point operations (FLOP), timing matrix multiplications on the reader's own
machine, the published tables the chapter compares them with, and the precomputed panels of
the training-compute calculator. The arithmetic is kept in small functions so that the chapter
can show each step and the exercise can test the same rules.
"""

import html
import math
import platform
import time

import numpy as np
import pandas as pd

from aiopen.datasets import read_table

__all__ = [
    "THRESHOLDS", "H100_BF16_DENSE", "ASSUMPTIONS", "matmul_flops", "time_matmul",
    "measure_matmul", "machine_description", "mlp_parameters", "mlp_training_flops",
    "training_flops", "one_core", "thresholds_crossed", "load_models", "growth_per_year",
    "run_estimate", "calculator_panel", "fmt_flop",
]

THRESHOLDS = {
    "EU AI Act Art. 51(2): presumed systemic risk": 1e25,
    "US EO 14110 s. 4.2(b): reporting (revoked 20 Jan 2025)": 1e26,
}
"""Training-compute thresholds in law, in FLOP. Both apply to compute *greater than* the value."""

H100_BF16_DENSE = 989.5e12
"""NVIDIA H100 SXM peak BF16 tensor throughput without sparsity, FLOP/s: the datasheet's
1,979 teraFLOPS is "shown with sparsity" and the dense figure is one half of it."""

ASSUMPTIONS = {
    "utilization": (0.30, 0.50),
    "gpu_kw": 0.7,
    "pue": (1.10, 1.58),
    "kg_co2_per_kwh": (0.057, 0.429),
}
"""The calculator's stated assumptions (low, high): share of peak throughput achieved
(Llama 3 reported 38-43% on H100s); H100 SXM maximum power, 700 W; data-centre overhead
(power usage effectiveness) from 1.10 (Google, per Patterson et al. 2021) to 1.58 (the 2018
industry average Strubell et al. 2019 used); grid carbon intensity from 57 g/kWh (France,
used for BLOOM) to 429 g/kWh (the figure Patterson et al. used for GPT-3)."""


def matmul_flops(n):
    """Floating-point operations of one ``n`` x ``n`` by ``n`` x ``n`` matrix product.

    Each of the n^2 entries of the result takes n multiplications and n - 1 additions;
    the usual count rounds this to 2n^3.
    """
    return 2 * n ** 3


def time_matmul(n, *, budget=0.3, seed=0):
    """Best wall-clock time, in seconds, of ``A @ B`` for random float64 ``n`` x ``n`` matrices.

    The product is repeated for about ``budget`` seconds (at least 3 times) and the fastest
    run kept: the usual estimate of what the machine can do, since slower runs were slowed
    by something else (other programs, the first call's set-up).
    """
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    a @ b  # warm-up: the first call loads the BLAS library's code and buffers
    times, spent = [], 0.0
    while len(times) < 3 or spent < budget:
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return min(times)


def measure_matmul(sizes=(64, 128, 256, 512, 1024), *, budget=0.2, threads=1):
    """Time matrix products of growing size; return n, seconds and achieved GFLOP/s.

    NumPy hands ``@`` to a BLAS library, which may use several cores; ``threads`` limits it
    (one by default, so that the figure is per core and less disturbed by other programs).
    """
    from threadpoolctl import threadpool_limits

    rows = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for n in sizes:
            seconds = time_matmul(n, budget=budget)
            rows.append({"n": n, "seconds": seconds,
                         "gflop_per_s": matmul_flops(n) / seconds / 1e9})
    return pd.DataFrame(rows)


def one_core():
    """A context in which NumPy's maths library (BLAS) uses one thread.

    On a small or busy machine, several threads fighting over small matrices can be many times
    slower than one: ``with one_core(): model.fit(X, y)``.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def machine_description():
    """One line naming this machine's processor, core count and NumPy's BLAS library."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    import os
    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    return (f"{cpu}, {os.cpu_count()} logical cores, NumPy {np.__version__} with "
            f"{blas.get('name', 'unknown BLAS')} {blas.get('version', '')}".strip())


def mlp_parameters(model):
    """Number of trained weights and biases of a fitted scikit-learn ``MLPClassifier``."""
    return int(sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_))


def mlp_training_flops(model, n_samples):
    """Training FLOP of a fitted ``MLPClassifier``: 6 x parameters x examples seen.

    A forward pass costs about 2 FLOP per parameter per example (a multiplication and an
    addition); the backward pass about twice that. Examples seen = training rows x epochs
    (``n_iter_``). Activation functions and the optimizer's own arithmetic are left out.
    """
    return 6 * mlp_parameters(model) * n_samples * model.n_iter_


def training_flops(params, tokens):
    """Approximate training compute of a dense transformer, 6 x N x D FLOP (Kaplan et al. 2020)."""
    return 6 * params * tokens


def thresholds_crossed(flops):
    """Names of the ``THRESHOLDS`` that a training run of ``flops`` FLOP is above."""
    return [name for name, limit in THRESHOLDS.items() if flops > limit]


def fmt_flop(x):
    """A FLOP count as text in scientific notation, e.g. ``3.15e+23``."""
    return f"{x:.2e}"


def load_models():
    """The chapter's extract of Epoch AI's notable-models data, with a decimal ``year``.

    Returns
    -------
    pandas.DataFrame
        One row per model with a training-compute estimate (see ``ch07-notable-models.source.txt``).
    """
    df = read_table("ch07-notable-models")
    dates = pd.to_datetime(df["publication_date"])
    df["year"] = dates.dt.year + (dates.dt.dayofyear - 1) / 365.25
    return df


def growth_per_year(years, values, *, n_boot=1000, seed=0):
    """Growth factor per year of ``values`` (a least-squares line through log10 values),
    with a 90% bootstrap interval over the points.

    Returns
    -------
    tuple of float
        (factor, low, high): ``values`` multiply by ``factor`` each year.
    """
    x, y = np.asarray(years, float), np.log10(np.asarray(values, float))
    slope = np.polyfit(x, y, 1)[0]
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(x), len(x))
        boots.append(np.polyfit(x[i], y[i], 1)[0])
    low, high = np.percentile(boots, [5, 95])
    return 10 ** slope, 10 ** low, 10 ** high


def run_estimate(flops, *, peak=H100_BF16_DENSE, cost_per_flop=None):
    """Accelerator time, energy, carbon and (optionally) cost of a run, as (low, high) ranges.

    Parameters
    ----------
    flops : float
        Training compute of the run, FLOP.
    peak : float, default=H100_BF16_DENSE
        Peak throughput of one accelerator, FLOP/s.
    cost_per_flop : tuple of (float, float), optional
        Low and high US dollars per FLOP.

    Returns
    -------
    dict
        ``gpu_hours``, ``mwh``, ``t_co2`` and, with ``cost_per_flop``, ``usd``: each a
        (low, high) tuple under :data:`ASSUMPTIONS`.
    """
    lo_u, hi_u = ASSUMPTIONS["utilization"]
    hours = (flops / (peak * hi_u) / 3600, flops / (peak * lo_u) / 3600)
    lo_p, hi_p = ASSUMPTIONS["pue"]
    mwh = (hours[0] * ASSUMPTIONS["gpu_kw"] * lo_p / 1000, hours[1] * ASSUMPTIONS["gpu_kw"] * hi_p / 1000)
    lo_c, hi_c = ASSUMPTIONS["kg_co2_per_kwh"]
    result = {"gpu_hours": hours, "mwh": mwh, "t_co2": (mwh[0] * lo_c, mwh[1] * hi_c)}
    if cost_per_flop is not None:
        result["usd"] = (flops * cost_per_flop[0], flops * cost_per_flop[1])
    return result


def _money(x):
    for unit, size in (("billion", 1e9), ("million", 1e6), ("thousand", 1e3)):
        if x >= size:
            return f"${x / size:,.3g} {unit}"
    return f"${x:,.0f}"


def _range(pair, fmt):
    return f"{fmt(pair[0])} to {fmt(pair[1])}"


def calculator_panel(params, tokens, cost_per_flop):
    """HTML for one (parameters, tokens) choice of the calculator: FLOP, thresholds, ranges."""
    flops = training_flops(params, tokens)
    est = run_estimate(flops, cost_per_flop=cost_per_flop)
    crossed = thresholds_crossed(flops)
    rows = [
        ("Training compute (6 x N x D)", f"{flops:.2e} FLOP"),
        ("Thresholds crossed", "; ".join(crossed) if crossed else "none"),
        ("H100 GPU-hours", _range(est["gpu_hours"], lambda v: f"{v:,.3g}")),
        ("Energy", _range(est["mwh"], lambda v: f"{v:,.3g} MWh")),
        ("Carbon", _range(est["t_co2"], lambda v: f"{v:,.3g} t CO2e")),
        ("Compute cost", _range(est["usd"], _money)),
    ]
    body = "".join(f"<tr><th scope='row' style='text-align:left'>{html.escape(k)}</th>"
                   f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table style='font-size:0.9em;width:100%'>{body}</table>"
