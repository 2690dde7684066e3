"""How well a Vajont case resolves what it reports when a single run is sensitive to its
inputs: ensembles of nearly equal runs, refined in time (issue 13 item 8; issue 14 item 4).

    python benchmarks/vajont_ensemble_resolution.py [--case cases/vajont.toml]
        [--variants base,time/2,time/4] [--members 9] [--perturb water.level=0.001]
        [--set KEY=VALUE ...] [--jobs 2] [--run-dir DIR] [--merge REPORT.json ...]
        [--out benchmarks/out/vajont_ensemble_resolution.json]
    python benchmarks/vajont_ensemble_resolution.py --accuracy JSON

Why. After the slide mass reaches the gorge its two blocks strike each other, the gorge and
the north flank again and again; where it stops depends on that impact sequence, and the
sequence on the last digits of the run: the reservoir level moved by 1 mm (a change of the
water load of 1e-5) moves the run-out of cases/vajont.toml by up to 3 % (measured, session 16),
as much as halving Δt does (benchmarks/vajont_resolution.py). A single run's run-out therefore
cannot resolve to 1–2 % whatever Δt is: it is one draw from a spread. What does resolve is
the distribution of that draw: its mean over runs that differ only by a perturbation far below
any uncertainty of the inputs, as in a turbulence or granular-flow computation.

What it runs. For each variant of benchmarks/vajont_resolution.py (base, time/2, time/4, …:
Δt and g2 refined from the case's own settings), ``--members`` N runs with the case key
``--perturb KEY=DELTA`` shifted by δ_k = DELTA · (2k/(N − 1) − 1), k = 0 … N − 1 (evenly over
[−DELTA, +DELTA]; N odd puts the unperturbed run in the middle, so each ensemble contains the
variant's own single run). Every run is ``coupling.run`` of the case (vajont_resolution.run_one);
``--jobs`` runs them in parallel (one process each), ``--run-dir`` keeps and reuses run folders.

What it reports (JSON): per variant and reported quantity the N values, their mean q̄, sample
standard deviation s, range, the lag-1 autocorrelation ρ₁ of neighbouring members and the
standard error s/√N_eff with N_eff = N (1 − ρ₁)/(1 + ρ₁) where ρ₁ > 0 (N where not). Members
are independent draws only when they lie farther apart in the perturbed key than the outcome's
correlation scale: the flagship's run-out, 33 members over ± 1 mm (0.0625 mm apart), has
ρ₁ = 0.46 / 0.59 at base / time/2 (a run of six neighbouring members at time/2 all stopping
≈ 20 m short) and, four members apart (0.25 mm), −0.26 / +0.03 (session 23,
benchmarks/out/vajont_restitution_ensemble_dense.json): those 33 runs are worth 8–12
independent ones; the change of each variant's mean against
the base ensemble's, |q̄_v − q̄_base| / |q̄_base|, beside its standard error
√(se_v² + se_base²)/|q̄_base| (a change within ~2 standard errors is not a measured effect of
Δt); and the distance of the base variant's unperturbed run — the run the case ships — from the
most refined ensemble mean (the accuracy of the number a user gets from one run); the code
versions that made the runs (``code_versions``: git commits, ``+dirty`` for a tree with
uncommitted changes, a reused run folder's own; a warning on stderr when there is more than one
or a dirty one: a report of one model needs runs of one committed code).

Accumulating an ensemble (``--merge REPORT.json``, repeatable). A session on two cores affords
some 16 members per variant; a quantity whose single runs spread by ~9 % needs more for a
standard error of ~1 %. ``--merge`` adds the runs of earlier reports of the same study — the same
case, ``--set`` overrides, variants and perturbed key, members at other offsets (interleaved:
``--members 16 --perturb water.level=0.00375`` between the 17 of ``--members 17 --perturb
water.level=0.004``) — to this run's, orders every variant's members by offset and states the
ensemble of all of them; the merged offsets must be evenly spaced (the spacing and ρ₁ are then
those of the whole grid). Runs made on another machine or by another commit are further draws
of the same spread only when the solver is the same: ``solver_changes`` lists, per code version
of the runs, the files of the solver packages (dda, learned, nmm, coupling) whose code differs from
this checkout's (comments and docstrings aside; empty: the same solver), and a line on stderr
names any that differ.

Units: peak velocity m/s, run-out and run-up m, onset to rest s, band temperature rise K, band
pore pressure Pa, band pore-pressure ratio p/σn 1; changes and spreads as fractions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from vajont_resolution import (OTHER_RESULTS, RESULTS, SLUGS, code_versions, code_warning, parse_sets, parse_variants,  # noqa: E402
                              run_all, set_text, variants, write_report)

#: the quantities the accuracy sentence states (the order of vajont_resolution's)
STATED = ("peak_velocity", "runout", "runup", "duration")
WORDS = {"peak_velocity": "peak", "runout": "run-out", "runup": "run-up", "duration": "onset to rest",
         "band_temperature_rise_max": "band temperature rise", "band_pore_pressure_max": "band pore pressure",
         "band_temperature_rise_slide": "band temperature rise over the slide",
         "band_pore_pressure_slide": "band pore pressure over the slide",
         "band_temperature_rise_slide_max": "band's largest temperature rise",  # over the slide: the band
         "band_pore_pressure_ratio_slide_max": "band's largest pore-pressure ratio",  # is not reported after it
         # the other results (session 31 on: recorded per run, vajont_resolution.OTHER_RESULTS)
         "time_to_rest": "time at rest", "onset_time": "onset time", "time_of_peak": "time of peak",
         "max_runout": "largest run-out", "drop": "drop", "final_velocity": "final speed",
         "front_x_final": "front's final x", "slide_area_m2": "slide area", "blocks": "blocks",
         "slivers_removed": "slivers removed", "simulated_time": "simulated time", "settle_time": "settling time",
         "onset_friction_deg": "onset friction", "trigger_held_time": "trigger held time"}
#: the results besides RESULTS a report judges when its runs hold them (session 31 on)
OTHER = ("time_to_rest", "onset_time", *OTHER_RESULTS)
#: the band's quantities a report of a thermal-pressurisation case states (session 20 on: reports
#: before have no slide means, and their sentences stay as they were)
BAND_SLIDE = ("band_temperature_rise_slide", "band_pore_pressure_slide")
#: session 21 on: the band's largest temperature rise [K] and pore-pressure ratio p/σn [-] over the
#: slide, which replace the run's largest values (BAND_MAX, reported in sessions ≤ 20)
BAND_SLIDE_MAX = ("band_temperature_rise_slide_max", "band_pore_pressure_ratio_slide_max")
BAND_MAX = ("band_temperature_rise_max", "band_pore_pressure_max")


def _present(report: dict, keys: tuple[str, ...]) -> bool:
    stats = report["statistics"]
    return all(stats[v].get(q, {}).get("mean") is not None for v in report["variants"] for q in keys)


def stated(report: dict) -> tuple[str, ...]:
    """The quantities a report's sentences judge: STATED, and with the band's slide means (a
    thermal-pressurisation case, session 20 on) those two as well, and with the band's slide
    maxima (session 21 on) those two too."""
    if not _present(report, BAND_SLIDE):
        return STATED
    return STATED + BAND_SLIDE + (BAND_SLIDE_MAX if _present(report, BAND_SLIDE_MAX) else ())


def _band_means(stats: dict, names: list[str], keys: tuple[str, str]) -> str:
    """"base: 20.7 / 1.9; time/2: ..." — temperature [K] / pore pressure [MPa] ensemble means."""
    return "; ".join(f"{v}: {stats[v][keys[0]]['mean']:.4g} / {stats[v][keys[1]]['mean'] / 1e6:.4g}" for v in names)


def offsets(members: int, delta: float) -> np.ndarray:
    """δ_k = delta · (2k/(N − 1) − 1), k = 0 … N − 1 (one member: 0)."""
    if members == 1:
        return np.zeros(1)
    return delta * (2.0 * np.arange(members) / (members - 1) - 1.0)


def perturbation(ap: argparse.ArgumentParser, text: str, case_path: str, common: dict) -> tuple[str, float, float]:
    """(KEY, DELTA, the key's value in the case after the ``common`` overrides) of ``--perturb
    KEY=DELTA``; a malformed item, DELTA <= 0 or a key that is not a number is ``ap.error``."""
    import coupling
    from coupling.case.loader import split_key

    key, sep, delta_text = text.partition("=")
    try:
        delta = float(delta_text)
    except ValueError:
        delta = float("nan")
    if not sep or not key.strip() or not np.isfinite(delta) or delta <= 0:
        ap.error(f"--perturb {text}: expected KEY=DELTA with DELTA > 0 (e.g. water.level=0.001)")
    key = key.strip()
    node = coupling.load_case(case_path, common or None).spec.model_dump(mode="json")
    try:
        for part in split_key(key):
            node = node[part]
        return key, delta, float(node)
    except (KeyError, IndexError, TypeError, ValueError):
        ap.error(f"--perturb {text}: {key} is not a number in {case_path}")


def neighbour_correlation(x: np.ndarray) -> float | None:
    """ρ₁, the lag-1 autocorrelation of the members' values in the order of their offsets:
    ρ₁ = (n/(n − 1)) Σ_k (x_k − x̄)(x_{k+1} − x̄) / Σ_k (x_k − x̄)² (None below 3 values or
    for equal values). Members closer than the scale over which the outcome of the perturbed key
    decorrelates are not independent draws (session 23, the flagship at 33 members over
    ± 1 mm, 0.0625 mm apart: ρ₁ = 0.46 / 0.59 for run-out at base / time/2, ≈ 0 at 0.25 mm)."""
    n = x.size
    if n < 3:
        return None
    y = x - x.mean()
    ss = float(np.dot(y, y))
    if ss == 0.0:
        return None
    return float(np.dot(y[:-1], y[1:]) / ss * n / (n - 1))


def effective_members(n: int, rho: float | None) -> float:
    """n_eff = n (1 − ρ₁)/(1 + ρ₁) for ρ₁ > 0 (the members as an AR(1) sequence, the variance of
    the mean of n correlated draws, inflated by (1 + ρ₁)/(1 − ρ₁): Bayley & Hammersley 1946,
    J. R. Stat. Soc. Suppl. 8), else n: a positive neighbour correlation widens the standard
    error of the mean, a negative one is not taken to narrow it."""
    if rho is None or rho <= 0.0:
        return float(n)
    return max(1.0, n * (1.0 - rho) / (1.0 + rho))


def statistics(values: list[float | None]) -> dict:
    """Mean, sample standard deviation s, standard error and range of the values that exist
    (a run not at rest by its end has no onset to rest: counted in ``missing``), in the order
    of the members' offsets. The standard error is s/√n_eff, n_eff = :func:`effective_members`
    of the neighbour correlation ρ₁ (``lag1``, :func:`neighbour_correlation`): s/√n for
    independent members; reports before session 23 stored s/√n."""
    x = np.array([v for v in values if v is not None], dtype=float)
    n = int(x.size)
    sd = float(np.std(x, ddof=1)) if n > 1 else None
    rho = neighbour_correlation(x)
    n_eff = effective_members(n, rho)
    return {"n": n, "missing": len(values) - n, "mean": float(x.mean()) if n else None, "sd": sd,
            "se": sd / np.sqrt(n_eff) if sd is not None else None, "lag1": rho, "n_effective": n_eff,
            "min": float(x.min()) if n else None, "max": float(x.max()) if n else None, "values": values}


def summarise(runs: list[dict], names: list[str]) -> dict:
    """variant -> quantity -> statistics over that variant's members (finished runs only)."""
    held = RESULTS + tuple(q for q in OTHER if any(q in r for r in runs if r["ok"]))  # a report before session 31: RESULTS
    return {v: {q: statistics([r.get(q) for r in runs if r["variant"] == v and r["ok"]]) for q in held}
            for v in names}


def mean_changes(stats: dict, quantities: tuple[str, ...] | None = None) -> dict:
    """quantity -> variant -> (|q̄_v − q̄_base| / |q̄_base|, its standard error) for ``quantities``
    (default: every quantity of the statistics; stats: variant -> quantity -> :func:`statistics`,
    a "base" variant among them). A quantity whose base mean is 0 or missing has no change."""
    base = stats["base"]
    quantities = tuple(base) if quantities is None else quantities
    out: dict = {}
    for q in quantities:
        b = base[q]
        out[q] = {}
        for v, s in stats.items():
            if v == "base" or b["mean"] in (None, 0) or s[q]["mean"] is None:
                continue
            se = np.sqrt((b["se"] or 0.0) ** 2 + (s[q]["se"] or 0.0) ** 2) / abs(b["mean"])
            out[q][v] = {"change": abs(s[q]["mean"] - b["mean"]) / abs(b["mean"]), "se": float(se)}
    return out


#: units of the stated quantities
STATED_UNITS = {"peak_velocity": "m/s", "runout": "m", "runup": "m", "duration": "s"}


def comparison_statement(report: dict, other: dict, variant: str, other_file: str | None = None) -> str:
    """Ensemble means of ``report``'s case against ``other``'s at one variant (both reports of this
    script, e.g. a learned law's case against the case of the analytic law that made its data):
    per stated quantity "peak 15.42 vs 15.47 m/s (-0.3 %)". ``other_file``: the name of
    ``other``'s report in benchmarks/out (default: the case's first, CASE_ensemble_resolution.json)."""
    a, b = report["statistics"][variant], other["statistics"][variant]
    parts = ", ".join(f"{WORDS[q]} {a[q]['mean']:.4g} vs {b[q]['mean']:.4g} {STATED_UNITS[q]} "
                      f"({100 * (a[q]['mean'] - b[q]['mean']) / abs(b[q]['mean']):+.1f} %)" for q in STATED)
    return (f"ensemble means at {variant} against {Path(other['case']).name} "
            f"(benchmarks/out/{other_file or Path(other['case']).stem + '_ensemble_resolution.json'}): {parts}")


def members_statement(report: dict, quantities: tuple[str, ...] = STATED) -> str:
    """"members 0.00025 apart, neighbour correlation rho1 <= 0.21": the members' spacing in the
    perturbed key and the largest lag-1 autocorrelation (:func:`neighbour_correlation`) of the
    ``quantities`` over the variants; "" for a report before session 23 (no ``lag1`` stored)."""
    cells = [report["statistics"][v][q] for v in report["variants"] for q in quantities]
    if not any("lag1" in c for c in cells):
        return ""
    n, delta = report["members"], next(iter(report["perturbation"].values()))
    top = max((c["lag1"] for c in cells if c.get("lag1") is not None), default=0.0)
    return f"members {2 * delta / (n - 1):g} apart, neighbour correlation rho1 <= {top:.2f}"


def _largest_changes(changes: dict, quantities) -> str:
    """"; largest change of a mean from the base ensemble's: peak 0.9 %, ..." over ``quantities``
    (report["mean_change"]); "" for a study of one variant, which has no change to state."""
    moves = ", ".join(f"{WORDS[q]} {100 * max(c['change'] for c in changes[q].values()):.1f} %"
                      for q in quantities if changes.get(q))
    return f"; largest change of a mean from the base ensemble's: {moves}" if moves else ""


def accuracy_statement(report: dict) -> str:
    """The sentence a case's ``accuracy`` key quotes, generated from a report of this script."""
    stats, names = report["statistics"], report["variants"]
    n, (key, delta) = report["members"], next(iter(report["perturbation"].items()))
    spread = ", ".join(f"{WORDS[q]} {100 * stats['base'][q]['sd'] / abs(stats['base'][q]['mean']):.1f} %"
                       for q in STATED if stats["base"][q]["sd"] is not None and stats["base"][q]["mean"])
    means = "; ".join(
        f"{v}: " + " / ".join(f"{stats[v][q]['mean']:.4g}" if stats[v][q]["mean"] is not None else "-" for q in STATED)
        for v in names)
    ch = report["mean_change"]
    largest = {q: max(ch[q].values(), key=lambda c: c["change"]) for q in STATED if ch.get(q)}  # with its own error
    worst = ", ".join(f"{WORDS[q]} {100 * c['change']:.1f} % (standard error {100 * c['se']:.1f} %)"
                      for q, c in largest.items())
    changed = f"; largest change of a mean from the base ensemble's: {worst}" if worst else ""  # "": one variant
    single = report["single_run"]
    off = ", ".join(f"{WORDS[q]} {100 * single['distance'][q]:+.1f} %" for q in STATED if single["distance"].get(q) is not None)
    common = "".join(set_text(k, v) for k, v in report.get("common_overrides", {}).items())
    spacing = members_statement(report, stated(report))
    members = f" ({spacing}: standard errors over n (1 - rho1)/(1 + rho1) members where rho1 > 0)" if spacing else ""
    missing = ""  # a quantity some runs do not reach (onset to rest of a run still moving at its end)
    for q in STATED:
        if any(stats[v][q]["missing"] for v in names):
            counts = ", ".join(f"{v} {stats[v][q]['n']}" for v in names)
            missing += f"; {WORDS[q]} over the runs that reach it ({counts} of {n})"

    band = ""
    if BAND_SLIDE_MAX[0] in stated(report):  # session 21 on: the slide's means and largest values
        moves = _largest_changes(report["mean_change"], BAND_SLIDE + BAND_SLIDE_MAX)
        top = "; ".join(f"{v}: {stats[v][BAND_SLIDE_MAX[0]]['mean']:.4g} / {stats[v][BAND_SLIDE_MAX[1]]['mean']:.4g}"
                        for v in names)
        band = ("; ensemble means of the band's mean temperature rise [K] / pore pressure [MPa] over the slide (onset to "
                f"peak speed): {_band_means(stats, names, BAND_SLIDE)}; of its largest temperature rise [K] / pore-pressure "
                f"ratio p/sigma_n over the slide: {top}{moves}")
    elif BAND_SLIDE[0] in stated(report):  # session 20: the slide means, then the run's largest values
        moves = _largest_changes(report["mean_change"], BAND_SLIDE + BAND_MAX)
        band = ("; ensemble means of the band's mean temperature rise [K] / pore pressure [MPa] over the slide (onset to "
                f"peak speed): {_band_means(stats, names, BAND_SLIDE)}; of their largest values over the run: "
                f"{_band_means(stats, names, BAND_MAX)}{moves}")
    elif all(stats[v]["band_temperature_rise_max"]["mean"] is not None for v in names):
        band = ("; ensemble means of the band's largest mean temperature rise [K] / pore pressure [MPa]: " + "; ".join(
            f"{v}: {stats[v]['band_temperature_rise_max']['mean']:.0f} / {stats[v]['band_pore_pressure_max']['mean'] / 1e6:.1f}"
            for v in names))
    other = ""  # session 31 on: every other result the runs hold
    if others(report):
        other = "; the other results' largest change of a mean: " + ", ".join(
            f"{WORDS[q]} {100 * c['change']:.1f} % (standard error {100 * c['se']:.1f} %)"
            for q, c in largest_other_changes(report).items())
    return (f"ensemble resolution (python benchmarks/vajont_ensemble_resolution.py --case cases/{Path(report['case']).name}"
            f"{common} --variants {','.join(names)} --members {n} --perturb {key}={delta:g}): single runs spread "
            f"(standard deviation over {key} ± {delta:g}) {spread}{members}; ensemble means of peak [m/s] / run-out [m] / run-up [m] / "
            f"onset to rest [s]: {means}{changed}; the shipped run "
            f"against the {single['against']} ensemble mean: {off}{missing}{band}{other}")


def _largest(report: dict, quantities) -> dict[str, dict]:
    """quantity -> the largest change of its ensemble mean from the base variant's (with its
    standard error), over those of ``quantities`` that have a change."""
    ch = report["mean_change"]
    return {q: max(ch[q].values(), key=lambda c: c["change"]) for q in quantities if ch.get(q)}


def largest_mean_changes(report: dict) -> dict[str, dict]:
    """:func:`_largest` over the quantities the report's sentences judge (:func:`stated`)."""
    return _largest(report, stated(report))


def others(report: dict) -> tuple[str, ...]:
    """The other results a report judges besides :func:`stated` (its runs hold them: session 31 on;
    () before): those of OTHER with a change of their mean (a quantity at 0, e.g. no slivers, has
    none) that differ between runs (the same value in every run is an input: slide area, blocks)."""
    stats, ch = report["statistics"], report["mean_change"]
    varies = {q for q in OTHER if ch.get(q) and (any(c["change"] for c in ch[q].values())
                                                 or any(stats[v][q]["sd"] for v in report["variants"]))}
    return tuple(q for q in OTHER if q in varies)  # not the inputs every run holds alike (slide area, blocks, ...)


def largest_other_changes(report: dict) -> dict[str, dict]:
    """:func:`_largest` over the other results (:func:`others`)."""
    return _largest(report, others(report))


def not_resolved(report: dict, tolerance: float = 0.02) -> list[str]:
    """The result keys a case whose accuracy quotes ``report`` names in its ``not_resolved`` key:
    the judged quantities (:func:`stated`, then :func:`others`) whose ensemble mean moved more than
    ``tolerance`` (as printed, to 0.1 %); with onset to rest (``duration``) the time it ends at
    (``time_to_rest``) also where the report does not judge that one itself."""
    moved = {**largest_mean_changes(report), **largest_other_changes(report)}
    bad = [q for q, c in moved.items() if round(100 * c["change"], 1) > 100 * tolerance]
    bad += [q for q in (*stated(report), *OTHER) if q not in bad and _partly_missing(report, q)]
    return bad + (["time_to_rest"] if "duration" in bad and "time_to_rest" not in bad else [])


def _partly_missing(report: dict, q: str) -> bool:
    """Some runs of some variant have no value of ``q`` (e.g. not at rest by the end), while others
    do: its means are over fewer runs, or a variant has none, so its change is not judged in full
    and ``q`` counts as not resolved. A quantity no run holds (no band) is not in the study."""
    cells = [report["statistics"][v].get(q) for v in report["variants"]]
    if any(c is None for c in cells) or all(c.get("mean") is None for c in cells):
        return False
    return any(c.get("missing") or c.get("mean") is None for c in cells)


def _shown_others(report: dict, unresolved: list[str]) -> list[str]:
    """The other results the short statement names: those not resolved (time at rest goes with
    onset to rest, which it names already)."""
    return [q for q in others(report) if q in unresolved and not (q == "time_to_rest" and "duration" in unresolved)]


def headline_statement(report: dict, tolerance: float = 0.02) -> str:
    """The short statement of a case's ``accuracy`` key (its studies, with accuracy_statement's
    sentence, are in ``accuracy_studies``), generated from a report of this script: the shipped
    run against the most refined ensemble mean, the largest change of a mean over the variants
    with its standard error, and which quantities that change holds within ``tolerance``
    (resolved) and which not; with a band, its maxima's ensemble means from base to the last."""
    stats, names = report["statistics"], report["variants"]
    n, (key, delta) = report["members"], next(iter(report["perturbation"].items()))
    single, ch = report["single_run"], report["mean_change"]
    judged = stated(report)
    off = ", ".join(f"{WORDS[q]} {100 * single['distance'][q]:+.1f} %" for q in judged
                    if single["distance"].get(q) is not None)
    unresolved = not_resolved(report, tolerance)  # as printed
    # the stated quantities, then the other results that are not resolved (session 31 on)
    largest = {**largest_mean_changes(report),
               **{q: c for q, c in largest_other_changes(report).items() if q in _shown_others(report, unresolved)}}
    moves = ", ".join(f"{WORDS[q]} {100 * c['change']:.1f} %" for q, c in largest.items())
    errors = " / ".join(f"{100 * c['se']:.1f}" for c in largest.values())
    ok = [WORDS[q] for q in largest if q not in unresolved]
    bad = [WORDS[q] for q in largest if q in unresolved]
    members = members_statement(report, judged)
    errors += f" %; {members}" if members else " %"
    verdict = f"resolved to {100 * tolerance:g} %: " + ("none" if not ok else "all" if not bad
                                                        else "all but " + ", ".join(bad)
                                                        + " (not reported: not_resolved)")
    band = ""
    if BAND_SLIDE_MAX[0] in judged:  # session 21 on: the arrival is not reported
        band = ("; the band after the peak speed is not reported (the arrival: corners striking it, a force "
                "not resolved in dt)")
    elif BAND_SLIDE[0] in judged:  # the run's largest values, judged by the same rule
        t = " / ".join(f"{stats[v]['band_temperature_rise_max']['mean']:.0f}" for v in names)
        p = " / ".join(f"{stats[v]['band_pore_pressure_max']['mean'] / 1e6:.1f}" for v in names)
        worst = max(max(c["change"] for c in ch[q].values()) for q in BAND_MAX)
        word = "resolved" if round(100 * worst, 1) <= 100 * tolerance else "NOT resolved"
        band = (f"; the band's largest temperature rise and pore pressure over the run, the arrival's impacts included "
                f"(ensemble means {t} K and {p} MPa at {' / '.join(names)}; largest change {100 * worst:.0f} %): {word}")
    elif all(stats[v]["band_temperature_rise_max"]["mean"] is not None for v in names):
        t = " / ".join(f"{stats[v]['band_temperature_rise_max']['mean']:.0f}" for v in names)
        p = " / ".join(f"{stats[v]['band_pore_pressure_max']['mean'] / 1e6:.1f}" for v in names)
        band = (f"; NOT resolved: the band's largest temperature rise and pore pressure (ensemble means {t} K and "
                f"{p} MPa at {' / '.join(names)})")
    return (f"this run against the mean of {n} runs at {single['against']} that differ only by {key} "
            f"(± {delta:g}): {off}; the ensemble means move from {names[0]} to {' and '.join(names[1:])} by at most "
            f"{moves} (standard errors {errors}): {verdict}{band}")


#: the packages whose code makes a run's numbers (benchmarks, tests, docs and case texts do not)
SOLVER_PACKAGES = ("dda", "learned", "nmm", "coupling")


def merged_runs(ap: argparse.ArgumentParser, paths: list[str], case_path: str, common: dict, names: list[str],
                key: str) -> list[dict]:
    """The runs of the reports ``paths`` (each a report of this script), after checking that each
    is of the same study: the same case file name, ``--set`` overrides, variants and perturbed key
    (else ``ap.error``, one line naming the report and what differs)."""
    out: list[dict] = []
    for path in paths:
        try:
            other = json.loads(Path(path).read_text(encoding="utf-8"))
            found = {"case": Path(other["case"]).name, "--set": other["common_overrides"],
                     "--variants": other["variants"], "perturbed key": next(iter(other["perturbation"]))}
            runs = other["runs"]
        except (OSError, ValueError, KeyError, StopIteration, TypeError) as exc:
            ap.error(f"--merge {path}: not a report of this script ({type(exc).__name__}: {exc})")
        wanted = {"case": Path(case_path).name, "--set": common, "--variants": names, "perturbed key": key}
        for what, value in wanted.items():
            if found[what] != value:
                ap.error(f"--merge {path}: {what} is {found[what]!r}, this study's is {value!r} (allowed: a report of the "
                         "same study)")
        out += [{**r, "merged_from": str(path)} for r in runs]
    return out


def ordered_members(ap: argparse.ArgumentParser, runs: list[dict], names: list[str]) -> tuple[list[dict], np.ndarray]:
    """The runs sorted by variant (in ``names``' order) and offset, renumbered ``member`` 0 … N − 1
    by offset, and the offsets. Every variant must hold the same offsets, each once, evenly spaced
    (else ``ap.error``): a merged grid states one spacing and one neighbour correlation."""
    grids = {v: sorted(r["offset"] for r in runs if r["variant"] == v) for v in names}
    first = np.array(grids[names[0]], dtype=float)
    for v, g in grids.items():
        if len(g) != first.size or not np.allclose(g, first, rtol=0, atol=1e-12):
            ap.error(f"--merge: variant {v} has offsets {g}, {names[0]} has {first.tolist()} (allowed: the same members "
                     "in every variant)")
    if first.size > 1:
        step = np.diff(first)
        if np.min(step) <= 1e-12 or not np.allclose(step, step[0], rtol=1e-6, atol=0):
            ap.error(f"--merge: the offsets {first.tolist()} are not evenly spaced or repeat one (allowed: an even grid, "
                     "e.g. --members 16 --perturb KEY=0.00375 between the 17 of --members 17 --perturb KEY=0.004)")
    index = {round(float(d), 12): k for k, d in enumerate(first)}
    out = sorted(runs, key=lambda r: (names.index(r["variant"]), r["offset"]))
    for r in out:
        r["member"] = index[round(float(r["offset"]), 12)]
    return out, first


def _code(text: str | None, path: str) -> str | None:
    """The code of a Python source without its comments and docstrings (ast.dump), the text of any
    other file, None for a file that does not exist."""
    import ast

    if text is None or not path.endswith(".py"):
        return text
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def solver_changes(versions: list[str], root: Path = ROOT) -> dict[str, list[str]]:
    """commit -> the files of SOLVER_PACKAGES whose code differs between it and this checkout's HEAD:
    the files ``git diff --name-only`` lists, less the Python files that differ only in comments and
    docstrings (their ASTs without docstrings are equal). For a "+dirty" version only its commit is
    compared (its uncommitted changes are not known); ["unknown"] when git cannot tell (no checkout,
    an unknown commit). All lists empty: every run came from the solver this checkout holds."""
    import subprocess

    def show(rev: str, path: str) -> str | None:
        r = subprocess.run(["git", "-C", str(root), "show", f"{rev}:{path}"], capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else None

    out: dict[str, list[str]] = {}
    for v in versions:
        c = v.removesuffix("+dirty")
        r = subprocess.run(["git", "-C", str(root), "diff", "--name-only", c, "HEAD", "--", *SOLVER_PACKAGES],
                           capture_output=True, text=True)
        if r.returncode != 0 or c == "unknown":
            out[v] = ["unknown"]
            continue
        out[v] = [f for f in r.stdout.split() if _code(show(c, f), f) != _code(show("HEAD", f), f)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default=str(ROOT / "cases" / "vajont.toml"))
    ap.add_argument("--variants", default="base,time/2,time/4")
    ap.add_argument("--members", type=int, default=9)
    ap.add_argument("--perturb", default="water.level=0.001", metavar="KEY=DELTA",
                    help="the case key shifted by up to ±DELTA (its units) across the members")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override every run (repeatable)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--run-dir", default=None, help="write every run's folder to DIR/<variant>/<member>; reuse "
                    "finished folders of the same input")
    ap.add_argument("--out", default=str(HERE / "out" / "vajont_ensemble_resolution.json"))
    ap.add_argument("--merge", action="append", default=[], metavar="JSON",
                    help="add the runs of an earlier report of the same study (case, --set, --variants, perturbed key) "
                    "at other offsets; repeatable (see the module docstring)")
    ap.add_argument("--accuracy", metavar="JSON", default=None, help="print the sentence of a finished report and exit")
    a = ap.parse_args(argv)
    if a.accuracy:
        report = json.loads(Path(a.accuracy).read_text(encoding="utf-8"))
        print(headline_statement(report))  # the case's accuracy key
        print(accuracy_statement(report))  # its accuracy_studies key
        return 0
    if a.members < 2:
        ap.error(f"--members: found {a.members}; allowed: an integer >= 2 (a spread needs two runs)")
    common = parse_sets(ap, a.set)
    key, delta, value0 = perturbation(ap, a.perturb, a.case, common)
    every = variants(a.case, common)
    names = parse_variants(ap, a.variants, every)
    shifts = offsets(a.members, delta)
    todo, labels = [], []
    for v in names:
        for k, d in enumerate(shifts):
            run_dir = str(Path(a.run_dir) / SLUGS[v]) if a.run_dir else None
            todo.append((a.case, f"member_{k:02d}", {**common, **every[v], key: value0 + float(d)}, run_dir))
            labels.append((v, k, float(d)))
    earlier = merged_runs(ap, a.merge, a.case, common, names, key) if a.merge else []
    t0 = time.perf_counter()
    runs = run_all(todo, a.jobs)
    for r, (v, k, d) in zip(runs, labels):
        r.update(variant=v, member=k, offset=d)
    members, spread = a.members, delta
    if earlier:
        runs, grid = ordered_members(ap, runs + earlier, names)
        members, spread = int(grid.size), float(np.max(np.abs(grid)))
    stats = summarise(runs, names)
    zero = [r["member"] for r in runs if r["variant"] == "base" and abs(r["offset"]) <= 1e-12]
    middle = zero[0] if zero else None
    finest = names[-1]
    single = {"against": finest, "distance": {}}
    if middle is not None:
        shipped = next(r for r in runs if r["variant"] == "base" and r["member"] == middle)
        single["run"] = {q: shipped.get(q) for q in RESULTS}
        single["distance"] = {q: ((shipped[q] - stats[finest][q]["mean"]) / abs(stats[finest][q]["mean"])
                                  if shipped.get("ok") and shipped.get(q) is not None and stats[finest][q]["mean"] else None)
                              for q in RESULTS}
    versions = code_versions(runs)
    changes = solver_changes(versions)
    if any(changes.values()) or any(v.endswith("+dirty") for v in versions) or not a.merge:
        if (warning := code_warning(versions)) is not None:
            print(warning, file=sys.stderr)
    for commit, files in changes.items():
        if files:
            print(f"warning: the solver of {commit[:12]} differs from this checkout's in {', '.join(files[:5])}"
                  f"{' ...' if len(files) > 5 else ''}: its runs are not draws of the same model", file=sys.stderr)
    report = {"case": str(a.case), "common_overrides": common, "code_versions": versions,
              "solver_changes": changes,
              **({"merged": list(a.merge)} if a.merge else {}),
              "variants": names,
              "members": members,
              "perturbation": {key: spread}, "runs": runs, "statistics": stats, "mean_change": mean_changes(stats),
              "single_run": single, "wall_s": time.perf_counter() - t0,
              "command": "python benchmarks/vajont_ensemble_resolution.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    write_report(a.out, report)
    for v in names:
        row = "  ".join(f"{WORDS[q]} {s['mean']:.4g} ± {s['sd'] or 0:.2g}" if s["mean"] is not None else f"{WORDS[q]} -"
                        for q, s in stats[v].items())
        print(f"{v:>8}: {row}")
    if middle is not None:
        print(accuracy_statement(report))
    print(f"wrote {a.out}")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
