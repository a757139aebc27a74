"""The EU AI Act's risk tiers as a small rule set, and a model of what a compute threshold catches.

Chapter 9 uses this module. Both halves are simplifications written to be read and changed:

- :data:`RULES` is an ordered list of :class:`Rule` objects, one per provision of
  Regulation (EU) 2024/1689 that decides a system's tier. :func:`classify` applies the first
  rule that matches, then adds the Article 50 transparency duties, which stack on any tier.
  A reader can reorder, remove or add rules and classify again.
- :func:`training_flop` is the 6 x parameters x tokens rule of Kaplan et al. (2020);
  :data:`THRESHOLDS` are the compute lines that laws and guidelines have drawn.

This is teaching code, not legal advice: the Act's definitions (what counts as an "AI system",
a "safety component", a "free and open-source licence") are legal questions it leaves to the reader.
"""

from dataclasses import dataclass, field

import math

import pandas as pd

__all__ = [
    "PROHIBITED", "ANNEX_III", "ART_6_3", "ART_50", "TIERS", "Rule", "RULES", "Classification",
    "classify", "classify_table", "THRESHOLDS", "training_flop", "flop_from_gpu_hours",
    "crosses", "gpai_duties", "panel_html", "USES", "CONTACT", "property_panels",
    "compute_estimates", "plot_compute",
]

# Article 5(1): the prohibited practices, by letter (short wording; the Act's text is longer).
PROHIBITED = {
    "a": "subliminal, manipulative or deceptive techniques that distort behaviour and cause significant harm",
    "b": "exploiting vulnerabilities due to age, disability or a social or economic situation",
    "c": "social scoring that leads to detrimental or disproportionate treatment",
    "d": "predicting that a person will commit a crime based solely on profiling or personality traits",
    "e": "untargeted scraping of facial images from the internet or CCTV to build face databases",
    "f": "inferring emotions in the workplace or in education (except for medical or safety reasons)",
    "g": "biometric categorisation to infer race, political opinions, religion, sex life or orientation",
    "h": "real-time remote biometric identification in public spaces for law enforcement (narrow exceptions)",
}

# Annex III: the eight areas in which a system is high-risk under Article 6(2).
ANNEX_III = {
    1: "biometrics",
    2: "critical infrastructure",
    3: "education and vocational training",
    4: "employment and workers' management",
    5: "access to essential private and public services and benefits",
    6: "law enforcement",
    7: "migration, asylum and border control",
    8: "administration of justice and democratic processes",
}

# Article 6(3): an Annex III system is not high-risk if it only does one of these
# (and does not profile people).
ART_6_3 = {
    "a": "a narrow procedural task",
    "b": "improving the result of a previously completed human activity",
    "c": "detecting decision-making patterns without replacing human assessment",
    "d": "a preparatory task to an assessment",
}

# Article 50: transparency duties, by paragraph.
ART_50 = {
    1: "tell people they are interacting with an AI system (provider)",
    2: "mark synthetic audio, image, video or text as AI-generated, machine-readably (provider)",
    3: "inform people exposed to emotion recognition or biometric categorisation (deployer)",
    4: "disclose deep fakes, and AI-generated text published on matters of public interest (deployer)",
}

# What each tier entails, and from when (as of November 2026; Art. 113, as amended in 2026).
TIERS = {
    "out of scope": ("The AI Act does not apply to this system.", "-"),
    "prohibited": ("May not be placed on the EU market or used (Art. 5); fines up to EUR 35 "
                   "million or 7% of worldwide annual turnover (Art. 99(3)).", "2 February 2025"),
    "high-risk": ("Risk management, data governance, technical documentation, logging, "
                  "instructions, human oversight, accuracy and cybersecurity (Arts. 9-15); "
                  "conformity assessment, CE marking and registration (Arts. 43, 48, 49); "
                  "deployer duties (Art. 26).",
                  "2 December 2027 (Annex III) or 2 August 2028 (Annex I)"),
    "transparency": ("Only the Article 50 duties listed.", "2 August 2026"),
    "minimal": ("No duties beyond AI literacy (Art. 4); voluntary codes of conduct (Art. 95).",
                "2 February 2025 (Art. 4)"),
}


@dataclass(frozen=True)
class Rule:
    """One provision that decides a tier.

    Attributes
    ----------
    tier : str
        A key of :data:`TIERS`.
    provision : str
        The deciding Article or Annex; ``{field}`` is filled in from the system, e.g.
        ``"Art. 5(1)({prohibited_practice})"``.
    applies : callable
        Takes a system (a mapping of its properties) and returns True when the rule decides it.
    """

    tier: str
    provision: str
    applies: object


def _has(system, key):
    value = system.get(key, "")
    return not (value is None or value == "" or value is False)


def _annex_iii(system):
    return _has(system, "annex_iii_area")


def _derogation(system):
    """Art. 6(3): an Annex III system escapes if it only does a listed task and does not profile."""
    return _has(system, "art6_3_task") and not bool(system.get("profiling", False))


def _open_source_exempt(system):
    """Art. 2(12): free and open-source AI systems are outside the Act unless high-risk,
    prohibited or covered by Article 50 (checked by the rules before and after this one)."""
    return bool(system.get("open_source", False)) and not _has(system, "art50")


RULES = [
    Rule("out of scope", "Art. 2(3)", lambda s: s.get("scope_exclusion") == "military"),
    Rule("out of scope", "Art. 2(6)", lambda s: s.get("scope_exclusion") == "research"),
    Rule("prohibited", "Art. 5(1)({prohibited_practice})",
         lambda s: s.get("prohibited_practice") in PROHIBITED),
    Rule("high-risk", "Art. 6(1), Annex I", lambda s: bool(s.get("annex_i_product", False))),
    Rule("minimal", "Art. 6(3)({art6_3_task})",
         lambda s: _annex_iii(s) and _derogation(s) and not _has(s, "art50")),
    Rule("high-risk", "Art. 6(2), Annex III point {annex_iii_area}",
         lambda s: _annex_iii(s) and not _derogation(s)),
    Rule("out of scope", "Art. 2(12)", _open_source_exempt),
    Rule("transparency", "Art. 50({art50})", lambda s: _has(s, "art50")),
    Rule("minimal", "no listed use", lambda s: True),
]


@dataclass
class Classification:
    """The result of :func:`classify`.

    Attributes
    ----------
    tier : str
        A key of :data:`TIERS`.
    provision : str
        The provision that decided the tier.
    transparency : list of str
        Article 50 duties that apply on top of the tier.
    """

    tier: str
    provision: str
    transparency: list = field(default_factory=list)

    @property
    def duties(self):
        """What the tier entails, in words."""
        return TIERS[self.tier][0]

    @property
    def applies_from(self):
        """The date from which the tier's duties apply (as of November 2026)."""
        return TIERS[self.tier][1]


def _paragraphs(value):
    if value is None or value == "":
        return []
    return [int(p) for p in str(value).replace(",", ";").split(";") if p.strip()]


def _clean(value):
    """Blank for a missing value (NaN from a table), an int for a whole float (1.0 -> 1)."""
    if isinstance(value, float):
        return "" if value != value else (int(value) if value.is_integer() else value)
    return value


def _fill(provision, system):
    return provision.format(**system)


def classify(system, rules=RULES):
    """Classify one system under the AI Act's risk tiers.

    Parameters
    ----------
    system : mapping
        The system's properties. Keys used by :data:`RULES`: ``scope_exclusion``
        ("military", "research" or empty), ``prohibited_practice`` (a letter of
        :data:`PROHIBITED`), ``annex_i_product`` (bool), ``annex_iii_area`` (a key of
        :data:`ANNEX_III`), ``art6_3_task`` (a letter of :data:`ART_6_3`), ``profiling`` (bool),
        ``art50`` (paragraphs of :data:`ART_50`, e.g. ``"1;2"``), ``open_source`` (bool).
        Missing keys count as absent.
    rules : list of Rule, default=RULES
        Tried in order; the first that applies decides.

    Returns
    -------
    Classification
    """
    system = {key: _clean(value) for key, value in dict(system).items()}
    for rule in rules:
        if rule.applies(system):
            no_duties = rule.tier in ("out of scope", "prohibited")
            duties = [] if no_duties else [
                f"Art. 50({p}): {ART_50[p]}" for p in _paragraphs(system.get("art50"))]
            return Classification(rule.tier, _fill(rule.provision, system), duties)
    raise ValueError("No rule applied; end the rule list with a catch-all rule such as RULES[-1].")


def classify_table(table, rules=RULES):
    """Classify every row of a table of systems; returns tier, provision and transparency duties.

    Parameters
    ----------
    table : pandas.DataFrame
        One system per row, with a ``system`` column and the keys :func:`classify` reads.
    rules : list of Rule, default=RULES
    """
    rows = []
    for _, row in table.iterrows():
        result = classify(row.to_dict(), rules)
        rows.append({"system": row["system"], "tier": result.tier, "provision": result.provision,
                     "Art. 50 duties": len(result.transparency)})
    return pd.DataFrame(rows)


# Compute lines drawn in law and guidance (FLOP = floating-point operations in training).
THRESHOLDS = {
    "EU indicative general-purpose model (Commission guidelines, July 2025)": 1e23,
    "EU systemic risk presumed (AI Act Art. 51(2))": 1e25,
    "US reporting duty (EO 14110 s. 4.2(b), revoked January 2025)": 1e26,
}


def training_flop(parameters, tokens):
    """Training compute by the 6 x N x D rule (Kaplan et al. 2020), in FLOP.

    Parameters
    ----------
    parameters : float or array-like
        Parameters used per token (for a mixture-of-experts model, the *active* ones).
    tokens : float or array-like
        Training tokens.
    """
    return 6.0 * parameters * tokens


def flop_from_gpu_hours(gpu_hours, peak_flop_per_s, utilisation=1.0):
    """Training compute from accelerator time: hours x 3600 x peak FLOP/s x utilisation.

    With ``utilisation=1`` this is an upper bound: no chip sustains its peak.
    """
    return gpu_hours * 3600.0 * peak_flop_per_s * utilisation


def crosses(flop, threshold=1e25):
    """True when training compute is *greater than* the threshold (Art. 51(2) says "greater than")."""
    return flop > threshold


def gpai_duties(training_flop_value, open_licence_and_weights, *, designated=False):
    """The Article 53 and 55 duties of a general-purpose AI model's provider.

    Parameters
    ----------
    training_flop_value : float
        Cumulative training compute, FLOP.
    open_licence_and_weights : bool
        Released under a free and open-source licence with public weights (Art. 53(2)).
    designated : bool, default=False
        Designated as a systemic-risk model by the Commission on other grounds (Art. 51(1)(b)).

    Returns
    -------
    list of str
    """
    systemic = crosses(training_flop_value) or designated
    duties = ["53(1)(a) technical documentation for the AI Office",
              "53(1)(b) information for downstream providers",
              "53(1)(c) copyright policy", "53(1)(d) public summary of training content"]
    if open_licence_and_weights and not systemic:
        duties = duties[2:]
    if systemic:
        duties += ["52(1) notify the Commission within two weeks",
                   "55 evaluation, adversarial testing, incident reporting, cybersecurity"]
    return duties


# ---- Panels for the risk-tier explorer (section 9.2) ----

_TIER_COLOURS = {"out of scope": "#6c757d", "prohibited": "#b02a37", "high-risk": "#c25e00",
                 "transparency": "#1f6fb2", "minimal": "#2b7a3d"}


def panel_html(result, heading=""):
    """An HTML panel that states a :class:`Classification`: tier, provision, duties, dates."""
    import html

    colour = _TIER_COLOURS[result.tier]
    extra = "".join(f"<li>{html.escape(d)}</li>" for d in result.transparency)
    extra = f"<p>Transparency duties on top (from 2 August 2026):</p><ul>{extra}</ul>" if extra else ""
    title = f"<p><em>{html.escape(heading)}</em></p>" if heading else ""
    return (f"<div style='max-width:36em'>{title}"
            f"<p><strong style='color:{colour}'>Tier: {html.escape(result.tier)}</strong>"
            f" &mdash; decided by {html.escape(result.provision)}</p>"
            f"<p>{html.escape(result.duties)}</p>"
            f"<p>Applies from: {html.escape(result.applies_from)}</p>{extra}</div>")


# The explorer's "set of properties": what a system is used for, and how it meets people.
USES = {
    "nothing listed in the Act": {},
    "a prohibited practice (e.g. social scoring)": {"prohibited_practice": "c"},
    "an Annex III use (e.g. screening job applicants)": {"annex_iii_area": "4(a)", "profiling": True},
    "an Annex III use, but only a narrow procedural task": {"annex_iii_area": "4(a)", "art6_3_task": "a"},
    "a safety component of a regulated product (Annex I)": {"annex_i_product": True},
    "military purposes only": {"scope_exclusion": "military"},
}
CONTACT = {
    "neither": {},
    "chats with people": {"art50": "1"},
    "generates images or text": {"art50": "2"},
}


def property_panels():
    """Panels for every combination of :data:`USES` and :data:`CONTACT`, for ``explorer2``."""
    return {(use, contact): panel_html(classify({**USES[use], **CONTACT[contact]}))
            for use in USES for contact in CONTACT}


# ---- Compute thresholds (section 9.3) ----

def compute_estimates(table, *, peak_flop_per_s=989.5e12, utilisation=0.4):
    """Add 6ND estimates and accelerator-time bounds to a table of models.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``active_parameters``, ``total_parameters``, ``training_tokens``,
        ``reported_flop``, ``gpu_hours``, ``gpu`` (as in ``ch09-training-compute``).
    peak_flop_per_s : float, default=989.5e12
        Peak throughput of one H100 SXM (BF16 dense, NVIDIA's datasheet); rows on other chips
        get no hardware estimate.
    utilisation : float, default=0.4
        Share of peak sustained over the run.
    """
    out = table.copy()
    out["6ND (active)"] = training_flop(out["active_parameters"], out["training_tokens"])
    out["6ND (total)"] = training_flop(out["total_parameters"], out["training_tokens"])
    peak = out["gpu"].map({"H100": peak_flop_per_s})   # only chips whose peak we cite
    out["hardware ceiling"] = flop_from_gpu_hours(out["gpu_hours"], peak)
    out["hardware at utilisation"] = flop_from_gpu_hours(out["gpu_hours"], peak, utilisation)
    best = out["reported_flop"].fillna(out["6ND (active)"])
    out["best estimate"] = best.fillna(out["hardware at utilisation"])
    return out


def plot_compute(estimates):
    """Dot plot (log scale) of each model's compute estimates with the legal thresholds.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    rows = range(len(estimates))
    marks = [("reported_flop", "o", "reported by developer"), ("6ND (active)", "s", "6ND, active parameters"),
             ("6ND (total)", "^", "6ND, total parameters"),
             ("hardware at utilisation", "x", "GPU hours at 40% of BF16 peak")]
    for k, (column, marker, label) in enumerate(marks):
        style = {"s": 140, "facecolors": "none", "edgecolors": "C0", "linewidths": 1.5} \
            if marker == "o" else {"color": f"C{k}"}
        ax.scatter(estimates[column], rows, marker=marker, label=label, zorder=3, **style)
    for value, style in ((1e23, ":"), (1e25, "--"), (1e26, "-.")):
        ax.axvline(value, color="grey", linestyle=style, linewidth=1)
        ax.text(value, -0.8, f" 1e{round(math.log10(value))}", ha="left", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(5e22, 3e26)
    ax.set_yticks(list(rows), estimates["model"])
    ax.set_xlabel("training compute (FLOP, log scale)")
    ax.set_ylim(len(estimates) - 0.5, -1.1)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.45, -0.2), ncol=2)
    fig.tight_layout()
    return fig
