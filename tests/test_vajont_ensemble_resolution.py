"""The Vajont ensemble-resolution benchmark (benchmarks/vajont_ensemble_resolution.py; issue 13
item 8): members evenly over ±DELTA with the unperturbed run in the middle, statistics and
changes of the means from the runs, the accuracy sentence from a report. Fast: synthetic runs
(the study is ~20 min of CPU; its figures are in the case's ``accuracy`` key)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
_spec = importlib.util.spec_from_file_location("vajont_ensemble_resolution", ROOT / "benchmarks" / "vajont_ensemble_resolution.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_offsets_are_even_over_the_range_with_the_unperturbed_run_in_the_middle():
    d = bench.offsets(9, 0.001)
    assert d[0] == -0.001 and d[-1] == 0.001 and d[4] == 0.0
    assert np.allclose(np.diff(d), 0.00025, rtol=1e-12, atol=0)
    assert bench.offsets(1, 0.5).tolist() == [0.0]


def test_statistics_count_runs_not_at_rest_as_missing():
    s = bench.statistics([1.0, 2.0, None, 3.0])
    assert s["n"] == 3 and s["missing"] == 1
    assert s["mean"] == 2.0 and s["sd"] == 1.0 and s["se"] == pytest.approx(1 / np.sqrt(3), rel=1e-14)
    assert (s["min"], s["max"]) == (1.0, 3.0)


def test_neighbouring_members_that_move_together_widen_the_standard_error():
    """Members closer than the outcome's correlation scale are not independent draws (session 23:
    the flagship's run-out at 33 members over ± 1 mm, rho1 = 0.46-0.59): the standard error is
    s/√n_eff, n_eff = n (1 − ρ₁)/(1 + ρ₁), for ρ₁ > 0; independent-looking members keep s/√n."""
    blocks = [0.0] * 4 + [1.0] * 4 + [0.0] * 4 + [1.0] * 4  # runs of equal neighbours
    rho = bench.neighbour_correlation(np.array(blocks))
    y = np.array(blocks) - 0.5
    assert rho == pytest.approx(16 / 15 * np.dot(y[:-1], y[1:]) / np.dot(y, y), rel=1e-14) and rho == pytest.approx(0.6, rel=1e-12)
    s = bench.statistics(blocks)
    n_eff = 16 * (1 - rho) / (1 + rho)
    assert s["lag1"] == rho and s["n_effective"] == pytest.approx(n_eff, rel=1e-14)
    # n_eff = 16 · 0.4/1.6 = 4: twice the error of 16 independent members
    assert s["se"] == pytest.approx(s["sd"] / np.sqrt(n_eff), rel=1e-14)
    assert s["se"] == pytest.approx(2 * s["sd"] / np.sqrt(16), rel=1e-12)
    alternating = [0.0, 1.0] * 8  # ρ₁ < 0: not taken to narrow the error
    a = bench.statistics(alternating)
    assert a["lag1"] < 0 and a["n_effective"] == 16 and a["se"] == pytest.approx(a["sd"] / 4, rel=1e-14)
    assert bench.neighbour_correlation(np.array([1.0, 2.0])) is None
    assert bench.neighbour_correlation(np.array([3.0, 3.0, 3.0])) is None
    assert bench.effective_members(9, 0.999999) >= 1.0


def test_the_sentences_state_the_members_spacing_and_correlation_when_the_report_has_them():
    """Reports from session 23 on store ρ₁; their sentences say how far apart the members are and
    how much neighbours correlate. Older reports (no ``lag1``) keep their sentences."""
    runs = _runs("base", [24.0, 25.0, 26.0, 25.0, 24.0], [330.0, 331.0, 350.0, 351.0, 340.0]) \
        + _runs("time/2", [25.0, 25.5, 26.0, 25.5, 25.0], [333.0, 343.0, 353.0, 343.0, 333.0])
    names = ["base", "time/2"]
    stats = bench.summarise(runs, names)
    report = {"case": "/x/cases/vajont.toml", "common_overrides": {}, "variants": names, "members": 5,
              "perturbation": {"water.level": 0.004}, "statistics": stats, "mean_change": bench.mean_changes(stats),
              "single_run": {"against": "time/2", "distance": {q: 0.0 for q in bench.STATED}}}
    top = max(stats[v][q]["lag1"] for v in names for q in bench.STATED if stats[v][q]["lag1"] is not None)
    phrase = f"members 0.002 apart, neighbour correlation rho1 <= {top:.2f}"
    assert phrase in bench.accuracy_statement(report) and phrase in bench.headline_statement(report)
    for v in names:
        for q in bench.RESULTS:
            del stats[v][q]["lag1"]
    assert bench.members_statement(report) == "" and "apart" not in bench.accuracy_statement(report)


def _runs(variant: str, peaks, runouts):
    return [{"variant": variant, "member": k, "ok": True, "peak_velocity": p, "runout": r, "runup": 100.0,
             "duration": 30.0, "band_temperature_rise_max": None, "band_pore_pressure_max": None}
            for k, (p, r) in enumerate(zip(peaks, runouts))]


def test_changes_of_the_means_and_the_accuracy_sentence():
    runs = _runs("base", [24.0, 25.0, 26.0], [330.0, 340.0, 350.0]) + _runs("time/2", [25.0, 25.5, 26.0], [333.0, 343.0, 353.0])
    names = ["base", "time/2"]
    stats = bench.summarise(runs, names)
    assert stats["base"]["runout"]["mean"] == 340.0 and stats["time/2"]["runout"]["mean"] == 343.0
    ch = bench.mean_changes(stats)
    assert ch["runout"]["time/2"]["change"] == pytest.approx(3 / 340, rel=1e-12)
    # standard error of the difference: √(se_a² + se_b²)/|mean_base|, se = 10/√3 in both
    assert ch["runout"]["time/2"]["se"] == pytest.approx(np.sqrt(2 * 100 / 3) / 340, rel=1e-12)
    report = {"case": "/x/cases/vajont.toml", "common_overrides": {"monitor.rest_window": 10}, "variants": names,
              "members": 3, "perturbation": {"water.level": 0.001}, "statistics": stats, "mean_change": ch,
              "single_run": {"against": "time/2", "distance": {"peak_velocity": (25.0 - 25.5) / 25.5,
                                                               "runout": (340.0 - 343.0) / 343.0, "runup": 0.0,
                                                               "duration": 0.0}}}
    text = bench.accuracy_statement(report)
    assert "--case cases/vajont.toml --set monitor.rest_window=10 --variants base,time/2 --members 3 " \
           "--perturb water.level=0.001" in text
    assert "(standard deviation over water.level ± 0.001) peak 4.0 %, run-out 2.9 %, run-up 0.0 %" in text
    assert "base: 25 / 340 / 100 / 30; time/2: 25.5 / 343 / 100 / 30" in text
    assert "run-out 0.9 % (standard error 2.4 %)" in text
    assert "the shipped run against the time/2 ensemble mean: peak -2.0 %, run-out -0.9 %" in text


#: case -> its committed ensemble reports, the one its short ``accuracy`` statement is made from last
#: (session 20 changed how the thermal-pressurisation band is carried: vajont and vajont_10block were rerun)
ENSEMBLE_REPORTS = {
    "vajont.toml": ("vajont_ensemble_resolution.json", "vajont_ensemble_resolution_session20.json",
                    "vajont_ensemble_resolution_session21.json", "vajont_ensemble_resolution_session23.json",
                    "vajont_ensemble_resolution_session29.json"),  # the band at its state's mean over each step
    "vajont_10block.toml": ("vajont_10block_ensemble_resolution.json", "vajont_10block_ensemble_resolution_session20.json",
                           "vajont_10block_ensemble_resolution_session22.json",
                           "vajont_10block_ensemble_resolution_session25.json",
                           "vajont_10block_ensemble_resolution_session26.json",
                           "vajont_10block_ensemble_resolution_session27.json",
                           # session 29: the band's strength at its state's mean over each step (JointLaw.step_state)
                           "vajont_10block_ensemble_resolution_session29.json"),
    "vajont_velocity_weakening.toml": ("vajont_velocity_weakening_ensemble_resolution.json",
                                       "vajont_velocity_weakening_ensemble_resolution_session22.json",
                                       "vajont_velocity_weakening_restitution_ensemble_session23.json",
                                       # session 31: rerun with every number a run reports recorded
                                       "vajont_velocity_weakening_ensemble_resolution_session31.json"),
    "vajont_learned_friction.toml": ("vajont_learned_friction_ensemble_resolution.json",
                                     "vajont_learned_friction_ensemble_resolution_session22.json",
                                     "vajont_learned_friction_ensemble_resolution_session24.json",
                                     # session 31: rerun with every number a run reports recorded
                                     "vajont_learned_friction_ensemble_resolution_session31.json"),
}


#: studies of a change to the model, not adopted: the case's accuracy_studies quote them, the
#: accuracy key does not (case -> (report, the overrides it was made with))
CANDIDATE_REPORTS = {
    "vajont.toml": (("vajont_restitution_ensemble_resolution.json", {"dda.contact_restitution": 0.2}),
                    ("vajont_restitution_ensemble_dense.json", {"dda.contact_restitution": 0.2})),
    "vajont_10block.toml": (("vajont_10block_restitution_ensemble_session24.json", {"dda.contact_restitution": 0.2}),
                            # session 28: the blocks' strain modes damped alike at every dt (not what moves onset to rest)
                            ("vajont_10block_block_damping_ensemble_session28.json", {"dda.block_damping_time": 0.0025})),
}


@pytest.mark.parametrize("case", sorted(CANDIDATE_REPORTS))
def test_vajont_studies_quote_the_candidate_models_report(case):
    """A candidate model (session 22: the impact restitution e_n = 0.2 as a material property,
    Wyllie 2014, adopted in session 23 once judged by independent members) is stated in
    accuracy_studies with its command, from its committed report; so is session 23's study of
    members too close to be independent (33 over ± 1 mm)."""
    import json

    import coupling
    from conftest import CASES

    spec = coupling.load_case(CASES / case).spec
    for name, overrides in CANDIDATE_REPORTS[case]:
        report = json.loads((ROOT / "benchmarks" / "out" / name).read_text(encoding="utf-8"))
        assert Path(report["case"]).name == case
        assert all(report["common_overrides"][k] == v for k, v in overrides.items()), report["common_overrides"]
        sentence = bench.accuracy_statement(report)
        assert sentence in spec.accuracy_studies and sentence not in spec.accuracy, name
        assert all(f"--set {k}={v}" in sentence for k, v in overrides.items())


@pytest.mark.parametrize("case", sorted(ENSEMBLE_REPORTS))
def test_vajont_accuracy_quotes_its_committed_ensemble_report(case):
    """The shipped case states the ensemble studies' figures verbatim (regenerated from the
    committed reports: a rerun that changes a figure fails here until the key is rewritten); its
    short statement is the latest report's headline."""
    import json

    import coupling
    from conftest import CASES

    spec = coupling.load_case(CASES / case).spec
    for name in ENSEMBLE_REPORTS[case]:
        report = json.loads((ROOT / "benchmarks" / "out" / name).read_text(encoding="utf-8"))
        assert Path(report["case"]).name == case
        assert bench.accuracy_statement(report) in spec.accuracy_studies, name  # the study, with its command
    assert bench.headline_statement(report) in spec.accuracy  # the short statement summary.json echoes
    assert len(spec.accuracy) < 1200, len(spec.accuracy)  # a statement, not the studies (session 19: 7656 chars)
    # what the latest report does not resolve to 2 % the case does not report: its not_resolved key names
    # every such result (summary.json moves them out of results), and beyond them only results the report
    # does not judge (vajont.toml's final speed, which the cases extending it inherit)
    bad = bench.not_resolved(report)
    assert set(bad) <= set(spec.not_resolved), (bad, spec.not_resolved)
    judged = set(bench.stated(report)) | set(bench.others(report))
    assert not (set(spec.not_resolved) - set(bad)) & judged, (spec.not_resolved, bad)
    # the middle member of the base ensemble is the shipped run (offset 0)
    shipped = next(r for r in report["runs"] if r["variant"] == "base" and r["offset"] == 0.0)
    assert shipped["member"] == report["members"] // 2


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(ENSEMBLE_REPORTS))
def test_shipped_run_lies_in_its_reported_ensemble(case, tmp_path):
    """The shipped run of each Vajont case against the base ensemble of the report its accuracy
    key quotes (its runs over the reservoir level at the shipped Δt: 9 over ± 1 mm, the
    flagship's 33 over ± 4 mm since session 23): peak, run-out,
    run-up and onset to rest each within 4 of the ensemble's standard deviations of its mean.
    These runs are not reproducible to round-off (a difference grows during the slide and in
    the impacts), so a bitwise check would fail on another machine; 4 standard deviations is
    the stated margin (session 22: at most 1.1 of them). It notices a model that changed
    under a committed report, not round-off. Measured in session 22: the same commit gives
    the flagship's run-out as 331.3 m with OpenBLAS's SkylakeX kernels (OPENBLAS_CORETYPE=
    SkylakeX, the machine of sessions 16-21) and 332.2 m with its Haswell or Zen kernels (this
    session's AMD EPYC); the ten-block peak 24.61 / 25.02 m/s (1.3 standard deviations), the
    velocity-weakening run-out 266.2 / 262.8 m."""
    import json

    import coupling
    from conftest import CASES

    name = ENSEMBLE_REPORTS[case][-1]
    report = json.loads((ROOT / "benchmarks" / "out" / name).read_text(encoding="utf-8"))
    run = coupling.run(coupling.load_case(CASES / case), overrides={"output.fields": False, "output.plots": False},
                       out=tmp_path / "run")
    r = {**run.results, **run.not_resolved}  # vajont_10block: onset to rest is computed, not reported
    base = report["statistics"]["base"]
    for key in bench.STATED:
        mean, sd = base[key]["mean"], base[key]["sd"]
        assert abs(r[key] - mean) <= 4 * sd, (name, key, r[key], mean, sd)


def test_readme_quotes_the_committed_ensemble_report():
    """The README's figures of the ensemble study are the committed report's."""
    import json

    name = ENSEMBLE_REPORTS["vajont.toml"][-1]
    report = json.loads((ROOT / "benchmarks" / "out" / name).read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    d, base = report["single_run"]["distance"], report["statistics"]["base"]
    words = ("peak", "run-out", "run-up", "onset to rest")
    assert ", ".join(f"{w} {100 * d[q]:+.1f} %" for w, q in zip(words, bench.STATED)) in readme
    spread = ", ".join(f"{w} {100 * base[q]['sd'] / base[q]['mean']:.1f} %" for w, q in zip(words, bench.STATED))
    assert f"reservoir level: {spread}" in readme
    ch = report["mean_change"]
    assert f"agree to {100 * max(max(c['change'] for c in ch[q].values()) for q in bench.STATED[:3]):.1f} %" in readme
    assert f"(onset to rest {100 * max(c['change'] for c in ch['duration'].values()):.1f} %)" in readme
    slide = " and ".join(f"{100 * max(c['change'] for c in ch[q].values()):.1f} %" for q in bench.BAND_SLIDE)
    assert f"the band's over the slide to {slide} (temperature, pore pressure)" in readme
    ratio = max(c["change"] for c in ch["band_pore_pressure_ratio_slide_max"].values())
    assert f"and {100 * ratio:.1f} % (largest ratio, " in readme
    t = ch["band_temperature_rise_slide_max"]
    worst = max(t.values(), key=lambda c: c["change"])
    temps = " / ".join(f"{report['statistics'][v]['band_temperature_rise_slide_max']['mean']:.2f}" for v in report["variants"])
    verdict = "resolved" if round(100 * worst["change"], 1) <= 2 else "NOT resolved"
    assert (f"the band's largest temperature rise over the slide moves {100 * worst['change']:.1f} % ({temps} K, "
            f"standard error {100 * worst['se']:.1f} %): {verdict}") in readme


def test_a_quantity_some_runs_do_not_reach_is_counted():
    runs = _runs("base", [24.0, 25.0, 26.0], [330.0, 340.0, 350.0]) + _runs("time/2", [25.0, 25.5, 26.0], [333.0, 343.0, 353.0])
    runs[4]["duration"] = None  # a time/2 run still moving at its end
    stats = bench.summarise(runs, ["base", "time/2"])
    assert (stats["time/2"]["duration"]["n"], stats["time/2"]["duration"]["missing"]) == (2, 1)
    report = {"case": "/x/cases/vajont.toml", "variants": ["base", "time/2"], "members": 3,
              "perturbation": {"water.level": 0.001}, "statistics": stats, "mean_change": bench.mean_changes(stats),
              "single_run": {"against": "time/2", "distance": {}}}
    assert "; onset to rest over the runs that reach it (base 3, time/2 2 of 3)" in bench.accuracy_statement(report)


def test_readme_quotes_the_ten_block_ensemble_report():
    """README's Verification row states the ten-block study (session 29, 17 members at Δt and Δt/4, the
    band's strength at its state's mean over each step; the model adopted in session 25) from its
    report, and which part of onset to rest moves (benchmarks/vajont_settle.py's reports): peak,
    run-out and run-up resolved to 2 %; the band's temperature rise over the slide, its largest and
    onset to rest not; session 27's study (the band at the state of each step's start), whose onset
    to rest grew with each refinement; and the earlier studies it compares with (session 22, DDA's own
    restitution; session 24, e_n = 0.2 without impact_steps)."""
    import json

    def load(name):
        return json.loads((ROOT / "benchmarks" / "out" / name).read_text(encoding="utf-8"))

    def largest(report, q):
        return max(report["mean_change"][q].values(), key=lambda c: c["change"])

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    report = load(ENSEMBLE_REPORTS["vajont_10block.toml"][-1])
    assert report["common_overrides"]["dda.impact_steps"] == 40 and report["common_overrides"]["dda.contact_restitution"] == 0.2
    assert report["members"] == 17 and report["variants"] == ["base", "time/4"]
    assert "17 runs over ± 4 mm at Δt and Δt/4, 0.5 mm apart" in readme
    moves = [100 * largest(report, q)["change"] for q in ("peak_velocity", "runout", "runup")]
    assert f"the mean peak, run-out and run-up move {' / '.join(f'{m:.1f}' for m in moves)} %" in readme
    assert max(round(m, 1) for m in moves) <= 2
    spread = [largest(report, q) for q in ("band_temperature_rise_slide", "band_temperature_rise_slide_max", "duration")]
    assert (f"the band's mean temperature rise over the slide moves {100 * spread[0]['change']:.1f} %, its largest "
            f"{100 * spread[1]['change']:.1f} %") in readme
    assert f"and onset to rest {100 * spread[2]['change']:.1f} % (standard errors " \
           f"{' / '.join(f'{100 * c["se"]:.1f}' for c in spread)} %): not resolved to 2 %" in readme
    assert all(c["change"] > 0.02 for c in spread)  # "not resolved to 2 %"
    means = [report["statistics"][v]["duration"]["mean"] for v in report["variants"]]
    d = report["statistics"]["base"]["duration"]
    assert (f"Onset to rest's means are {' / '.join(f'{m:.1f}' for m in means)} s (single runs spread "
            f"{100 * d['sd'] / d['mean']:.1f} % in onset to rest)") in readme
    # session 27 (the band at the state of each step's start): onset to rest grew with each refinement
    before = load("vajont_10block_ensemble_resolution_session27.json")
    grew = [before["statistics"][v]["duration"]["mean"] for v in before["variants"]]
    assert grew == sorted(grew) and means[-1] < means[0]  # "turned the sign of the change"
    rest = before["mean_change"]["duration"]["time/4"]
    assert (f"they grew with each refinement, {' / '.join(f'{m:.1f}' for m in grew)} s, "
            f"{rest['change'] / rest['se']:.1f} standard errors at Δt/4") in readme
    assert before["members"] == 33 and not any(before["solver_changes"].values())
    # the runs of session 29: 7fe298d's solver before it was committed (the checkout of 896cc84 and that change)
    assert list(report["solver_changes"]) == ["896cc84a57c2b37a7c0d68452256ab2b87c127b8+dirty"]
    # the two studies it is compared with
    old = largest(load("vajont_10block_ensemble_resolution_session22.json"), "peak_velocity")
    assert f"the mean peak rose {100 * old['change']:.1f} % from Δt to Δt/4, standard error {100 * old['se']:.1f} %" in readme
    cand = load(CANDIDATE_REPORTS["vajont_10block.toml"][0][0])
    assert f"without `impact_steps`: {100 * largest(cand, 'band_temperature_rise_slide_max')['change']:.1f} %)" in readme
    # which part of onset to rest moves: this study's split, session 27's paired continuations
    split, pairs = load("vajont_10block_settle_session29.json"), load("vajont_10block_settle_continued.json")
    arrival = max(split["changes"]["arrival"].values(), key=lambda c: c["change"])
    spread_arrival = max(100 * v["statistics"]["arrival"]["sd"] / v["statistics"]["arrival"]["mean"]
                         for v in split["variants"].values())
    settling = split["variants"]["base"]["statistics"]["settling"]
    assert (f"the ride there moves {100 * arrival['change']:.1f} % (single runs spread at most {spread_arrival:.1f} %), "
            f"the settling back from the flank spreads {100 * settling['sd'] / settling['mean']:.0f} % from run to run") in readme
    assert 100 * arrival["change"] < 2 < 100 * settling["sd"] / settling["mean"]  # "resolved" / "spreads"
    d = pairs["paired"]["4"]
    assert (f"Δt/4 moves the settling's onset to rest by {100 * d['mean'] / d['means'][0]:+.1f} % (paired over {d['n']} "
            f"members, standard error {100 * d['se'] / d['means'][0]:.1f} %): the settling itself does not depend on Δt") in readme
    assert abs(d["mean"]) <= 2 * d["se"]  # "does not depend": within two standard errors

def test_the_sentence_quotes_a_command_that_reads_its_overrides_back():
    """A boolean override is written as TOML (``false``), the only form --set accepts back:
    Python's ``False`` was quoted in the ten-block case's accuracy key and the command it
    printed was refused (output.fields: found 'False')."""
    import vajont_resolution as vr

    common = {"output.fields": False, "monitor.rest_window": 10, "joints.slip_surface.law.band_model": "diffusion"}
    text = "".join(vr.set_text(k, v) for k, v in common.items())
    assert text == " --set output.fields=false --set monitor.rest_window=10 --set joints.slip_surface.law.band_model=diffusion"
    items = [t.strip() for t in text.split("--set") if t.strip()]
    assert vr.parse_sets(None, items) == common


def test_the_flagship_header_quotes_the_diffusion_band_study():
    """cases/vajont.toml quotes the diffusion-form ensemble study (session 17) from its report."""
    import json

    report = json.loads((ROOT / "benchmarks" / "out" / "vajont_diffusion_ensemble_resolution.json").read_text(encoding="utf-8"))
    assert report["common_overrides"]["joints.slip_surface.law.band_model"] == "diffusion"
    st = report["statistics"]
    header = " ".join(line.lstrip("# ").strip() for line in (ROOT / "cases" / "vajont.toml").read_text(encoding="utf-8").splitlines()
                      if line.startswith("#"))
    for v in ("base", "time/4"):
        quoted = " / ".join(f"{st[v][q]['mean']:.{d}f}" for q, d in zip(bench.STATED, (2, 1, 1, 2)))
        assert quoted in header, (v, quoted)
    temps = " / ".join(f"{st[v]['band_temperature_rise_max']['mean']:.0f}" for v in report["variants"])
    assert f"{temps} K" in header
    ch = report["mean_change"]
    worst = " / ".join(f"{100 * max(c['change'] for c in ch[q].values()):.1f}" for q in bench.STATED)
    assert f"largest change {worst} %" in header


def test_the_ten_block_header_quotes_the_drag_study():
    """cases/vajont_10block.toml quotes the water-drag ensemble study (session 17) from its report."""
    import json

    report = json.loads((ROOT / "benchmarks" / "out" / "vajont_10block_drag_ensemble_resolution.json").read_text(encoding="utf-8"))
    assert report["common_overrides"]["water.drag_coefficient"] == 1.0
    st = report["statistics"]
    header = " ".join(line.lstrip("# ").strip() for line in (ROOT / "cases" / "vajont_10block.toml").read_text(encoding="utf-8").splitlines()
                      if line.startswith("#"))
    for v in report["variants"]:
        quoted = " / ".join(f"{st[v][q]['mean']:.{d}f}" for q, d in zip(bench.STATED, (2, 1, 1, 2)))
        assert quoted in header, (v, quoted)
    temps = " / ".join(f"{st[v]['band_temperature_rise_max']['mean']:.0f}" for v in report["variants"])
    assert f"{temps} K" in header


def test_learned_friction_accuracy_quotes_its_comparison_with_the_analytic_law():
    """vajont_learned_friction.toml states its ensemble means at dt/4 against the analytic law's case
    (both cases' latest committed reports, and session 18's pair), and they agree to the figure it
    claims."""
    import json

    import coupling
    from conftest import CASES

    out = ROOT / "benchmarks" / "out"
    spec = coupling.load_case(CASES / "vajont_learned_friction.toml").spec
    accuracy = spec.accuracy + " " + spec.accuracy_studies
    learned, analytic = (ENSEMBLE_REPORTS[c] for c in ("vajont_learned_friction.toml", "vajont_velocity_weakening.toml"))
    for i, (fa, fo) in enumerate(((learned[0], analytic[0]), (learned[-1], analytic[-1]))):
        a, o = (json.loads((out / f).read_text(encoding="utf-8")) for f in (fa, fo))
        other = None if fo == f"{Path(o['case']).stem}_ensemble_resolution.json" else fo
        assert bench.comparison_statement(a, o, "time/4", other) in spec.accuracy_studies, fa
        worst = max(abs(a["statistics"]["time/4"][q]["mean"] / o["statistics"]["time/4"][q]["mean"] - 1)
                    for q in bench.STATED)
        claim = f"to {100 * worst:.1f} % in every ensemble mean at dt/4"
        assert claim in (spec.accuracy if i else accuracy), (fa, claim)


def test_headline_statement_says_what_is_resolved_and_what_is_not():
    """The short accuracy statement (session 19) from a report: the shipped run against the most
    refined mean, the largest change of each mean, and the 2 % verdict per quantity."""
    report = {"members": 3, "perturbation": {"water.level": 0.001}, "variants": ["base", "time/2"],
              "statistics": {v: {q: {"mean": 1.0} for q in bench.RESULTS} for v in ("base", "time/2")},
              "single_run": {"against": "time/2", "distance": {"peak_velocity": -0.004, "runout": 0.01,
                                                               "runup": 0.03, "duration": None}},
              "mean_change": {"peak_velocity": {"time/2": {"change": 0.002, "se": 0.001}},
                              "runout": {"time/2": {"change": 0.02, "se": 0.006}},
                              "runup": {"time/2": {"change": 0.0206, "se": 0.008}}}}
    for v in ("base", "time/2"):
        for q in ("band_temperature_rise_max", *bench.BAND_SLIDE):  # a report without a band (or before session 20)
            report["statistics"][v][q]["mean"] = None
    text = bench.headline_statement(report)
    assert "this run against the mean of 3 runs at time/2 that differ only by water.level (± 0.001): " \
           "peak -0.4 %, run-out +1.0 %, run-up +3.0 %;" in text
    assert "by at most peak 0.2 %, run-out 2.0 %, run-up 2.1 % (standard errors 0.1 / 0.6 / 0.8 %)" in text
    # the rule as printed: 2.1 % is not within 2 %; the case names it in its not_resolved key
    assert text.endswith("resolved to 2 %: all but run-up (not reported: not_resolved)")
    assert bench.not_resolved(report) == ["runup"]
    report["mean_change"]["duration"] = {"time/2": {"change": 0.05, "se": 0.03}}  # onset to rest and its end time
    assert bench.not_resolved(report) == ["runup", "duration", "time_to_rest"]
    del report["mean_change"]["duration"]
    report["statistics"]["time/2"]["duration"]["missing"] = 2  # some runs not at rest: not judged in full
    assert bench.not_resolved(report) == ["runup", "duration", "time_to_rest"]
    report["statistics"]["time/2"]["duration"]["missing"] = 0
    worse = {q: {v: {**c, "change": 0.03} for v, c in per.items()} for q, per in report["mean_change"].items()}
    assert bench.headline_statement({**report, "mean_change": worse}).endswith("resolved to 2 %: none")
    report["statistics"]["base"]["band_temperature_rise_max"]["mean"] = 400.0
    report["statistics"]["time/2"]["band_temperature_rise_max"]["mean"] = 900.0
    for v in ("base", "time/2"):
        report["statistics"][v]["band_pore_pressure_max"]["mean"] = 2e7
    assert bench.headline_statement(report).endswith(
        "NOT resolved: the band's largest temperature rise and pore pressure (ensemble means 400 / 900 K and "
        "20.0 / 20.0 MPa at base / time/2)")


def test_headline_judges_the_band_over_the_slide_and_its_run_maxima_by_the_same_rule():
    """A thermal-pressurisation report from session 20 on: the band's slide means are stated
    quantities (distance of this run, largest change, verdict) and the run's band maxima get a
    verdict from their own largest change, not a fixed "NOT resolved"."""
    names = ["base", "time/2"]
    stats = {v: {q: {"mean": 1.0, "sd": 0.01, "n": 3, "missing": 0} for q in bench.RESULTS} for v in names}
    for v, (t_max, p_max) in zip(names, ((30.0, 2.0e7), (300.0, 5.0e7))):
        stats[v]["band_temperature_rise_max"]["mean"], stats[v]["band_pore_pressure_max"]["mean"] = t_max, p_max
        stats[v]["band_temperature_rise_slide"]["mean"], stats[v]["band_pore_pressure_slide"]["mean"] = 20.7, 1.9e6
        for q in bench.BAND_SLIDE_MAX:  # a session-20 report: no slide maxima
            stats[v][q]["mean"] = None
    change = {"time/2": {"change": 0.005, "se": 0.001}}
    report = {"case": "cases/vajont.toml", "members": 3, "perturbation": {"water.level": 0.001}, "variants": names,
              "statistics": stats, "single_run": {"against": "time/2", "distance": {q: 0.001 for q in bench.RESULTS}},
              "mean_change": {**{q: change for q in bench.RESULTS},
                              "band_temperature_rise_max": {"time/2": {"change": 9.0, "se": 1.0}},
                              "band_pore_pressure_max": {"time/2": {"change": 1.5, "se": 0.5}}}}
    assert bench.stated(report) == bench.STATED + bench.BAND_SLIDE
    text = bench.headline_statement(report)
    assert "resolved to 2 %: all;" in text
    assert text.endswith("the band's largest temperature rise and pore pressure over the run, the arrival's impacts "
                         "included (ensemble means 30 / 300 K and 20.0 / 50.0 MPa at base / time/2; largest change "
                         "900 %): NOT resolved")
    for q in ("band_temperature_rise_max", "band_pore_pressure_max"):
        report["mean_change"][q] = change
    assert bench.headline_statement(report).endswith("largest change 0 %): resolved")
    sentence = bench.accuracy_statement(report)
    assert ("ensemble means of the band's mean temperature rise [K] / pore pressure [MPa] over the slide (onset to "
            "peak speed): base: 20.7 / 1.9; time/2: 20.7 / 1.9;") in sentence


def test_headline_of_a_report_with_the_slide_maxima_states_them_and_leaves_the_arrival_out():
    """Session 21 on: the band's largest temperature rise and pore-pressure ratio over the slide are
    stated quantities (judged by the 2 % rule like the rest) and the run's maxima, made in the
    arrival's impacts, are no longer reported; the sentence gives the ratio without a unit."""
    names = ["base", "time/2"]
    stats = {v: {q: {"mean": 1.0, "sd": 0.01, "n": 3, "missing": 0} for q in bench.RESULTS} for v in names}
    for v, (t, r) in zip(names, ((23.3, 0.9991), (23.4, 0.9993))):
        for q in bench.BAND_MAX:  # no longer in a run's results
            stats[v][q]["mean"] = None
        stats[v]["band_temperature_rise_slide"]["mean"], stats[v]["band_pore_pressure_slide"]["mean"] = 20.7, 1.9e6
        stats[v]["band_temperature_rise_slide_max"]["mean"], stats[v]["band_pore_pressure_ratio_slide_max"]["mean"] = t, r
    change = {"time/2": {"change": 0.005, "se": 0.001}}
    report = {"case": "cases/vajont.toml", "members": 3, "perturbation": {"water.level": 0.001}, "variants": names,
              "statistics": stats, "single_run": {"against": "time/2", "distance": {q: 0.001 for q in bench.RESULTS}},
              "mean_change": {**{q: change for q in bench.RESULTS},
                              "band_temperature_rise_slide_max": {"time/2": {"change": 0.03, "se": 0.001}}}}
    assert bench.stated(report) == bench.STATED + bench.BAND_SLIDE + bench.BAND_SLIDE_MAX
    text = bench.headline_statement(report)
    assert "band's largest temperature rise 3.0 %, band's largest pore-pressure ratio 0.5 %" in text
    assert text.endswith(": resolved to 2 %: all but band's largest temperature rise (not reported: "
                         "not_resolved); the band after "
                         "the peak speed is not reported (the arrival: corners striking it, a force not resolved in dt)")
    assert "over the run" not in text
    sentence = bench.accuracy_statement(report)
    assert ("of its largest temperature rise [K] / pore-pressure ratio p/sigma_n over the slide: base: 23.3 / 0.9991; "
            "time/2: 23.4 / 0.9993;") in sentence


def test_velocity_weakening_studies_quote_the_cause_and_the_restitution_study():
    """Session 19: dt alone (at the shipped g2) moves the velocity-weakening means as far as dt and
    g2 together, and a restitution that does not depend on dt resolves run-out and run-up; the
    case's accuracy_studies quote both committed reports' sentences, and the figures hold."""
    import json

    import coupling
    from conftest import CASES

    out = ROOT / "benchmarks" / "out"
    a = json.loads((out / "vajont_velocity_weakening_dt4_g2fixed_ensemble.json").read_text(encoding="utf-8"))
    b = json.loads((out / "vajont_velocity_weakening_ensemble_resolution.json").read_text(encoding="utf-8"))
    e = json.loads((out / "vajont_velocity_weakening_restitution_ensemble_resolution.json").read_text(encoding="utf-8"))
    studies = coupling.load_case(CASES / "vajont_velocity_weakening.toml").spec.accuracy_studies
    assert bench.comparison_statement(a, b, "base") in studies and bench.accuracy_statement(e) in studies
    assert "--set dda.dt=0.00125" in a["command"] and "dda.max_displacement_ratio" not in a["command"]
    assert e["common_overrides"]["dda.contact_restitution"] == 0.2
    largest = {q: max(c["change"] for c in e["mean_change"][q].values()) for q in bench.STATED}
    assert round(100 * largest["runout"], 1) == 1.1 and round(100 * largest["runup"], 1) == 1.9
    assert round(100 * largest["duration"], 1) == 2.5
    for q in ("runout", "runup"):  # dt alone moves these means by more than dt and g2 together did
        alone = a["statistics"]["base"][q]["mean"] / b["statistics"]["base"][q]["mean"] - 1
        assert alone >= b["mean_change"][q]["time/4"]["change"] > 0.02


def _fake_run(sets: dict, level0: float, variant: str) -> dict:
    """A run as vajont_resolution.run_one returns it, its figures a function of the offset and variant."""
    d = sets["water.level"] - level0
    bump = {"base": 0.0, "time/2": 1.0}[variant]
    return {"name": "x", "case": "cases/vajont.toml", "sets": sets, "ok": True, "wall_s": 1.0, "reused": False,
            "git_commit": "unknown", "peak_velocity": 25.0 + 1000 * d + bump, "runout": 340.0 + 1e4 * d,
            "runup": 150.0, "duration": 30.0 + bump, "band_temperature_rise_max": None, "band_pore_pressure_max": None,
            "band_temperature_rise_slide": None, "band_pore_pressure_slide": None,
            "band_temperature_rise_slide_max": None, "band_pore_pressure_ratio_slide_max": None}


def _study(monkeypatch, tmp_path, argv: list[str]) -> dict:
    """bench.main(argv) with the solver replaced by _fake_run; the report it writes."""
    import coupling

    level0 = coupling.load_case(str(ROOT / "cases" / "vajont.toml"), None).spec.water.level

    def fake_all(todo, jobs=1):
        out = []
        for case, name, sets, run_dir in todo:
            variant = "base" if "dda.dt" not in sets else "time/2"
            out.append(_fake_run(sets, level0, variant))
        return out

    monkeypatch.setattr(bench, "run_all", fake_all)
    out = tmp_path / f"r{len(list(tmp_path.glob('r*.json')))}.json"
    assert bench.main(["--case", str(ROOT / "cases" / "vajont.toml"), "--variants", "base,time/2", *argv,
                       "--out", str(out)]) == 0
    import json
    return json.loads(out.read_text(encoding="utf-8"))


def test_merge_accumulates_an_ensemble_from_interleaved_members_of_earlier_reports(monkeypatch, tmp_path):
    """--merge: 3 members at 0, ±2 mm (an earlier report) and 2 at ±1 mm (this run) are one ensemble of 5,
    1 mm apart, its members ordered by offset; the shipped (unperturbed) run is the earlier report's."""
    earlier = _study(monkeypatch, tmp_path, ["--members", "3", "--perturb", "water.level=0.002"])
    merged = _study(monkeypatch, tmp_path, ["--members", "2", "--perturb", "water.level=0.001",
                                            "--merge", str(tmp_path / "r0.json")])
    assert merged["members"] == 5 and merged["perturbation"] == {"water.level": 0.002}
    assert merged["merged"] == [str(tmp_path / "r0.json")]
    for v in ("base", "time/2"):
        runs = [r for r in merged["runs"] if r["variant"] == v]
        assert [r["member"] for r in runs] == [0, 1, 2, 3, 4]
        assert np.allclose([r["offset"] for r in runs], [-0.002, -0.001, 0.0, 0.001, 0.002], rtol=0, atol=1e-12)
        assert [("merged_from" in r) for r in runs] == [True, False, True, False, True]
    # the figures in offset order: run-out 340 + 1e4 d is 320 ... 360, so the statistics are over all five
    s = merged["statistics"]["base"]["runout"]
    assert s["n"] == 5 and s["values"] == pytest.approx([320.0, 330.0, 340.0, 350.0, 360.0], abs=1e-9)
    assert merged["mean_change"]["duration"]["time/2"]["change"] == pytest.approx(1 / 30, rel=1e-12)
    shipped = next(r for r in earlier["runs"] if r["variant"] == "base" and r["offset"] == 0.0)
    assert merged["single_run"]["run"]["peak_velocity"] == shipped["peak_velocity"]
    assert "members 0.001 apart" in bench.members_statement(merged)


def test_merge_refuses_another_study_or_an_uneven_grid(monkeypatch, tmp_path, capsys):
    """A report of another study (other --set), repeated offsets or an uneven grid: one line, exit 2."""
    _study(monkeypatch, tmp_path, ["--members", "3", "--perturb", "water.level=0.002"])
    first = str(tmp_path / "r0.json")
    cases = ((["--set", "monitor.rest_window=10", "--members", "2", "--perturb", "water.level=0.001"],
              "--set is {}, this study's is {'monitor.rest_window': 10}"),
             (["--members", "3", "--perturb", "water.level=0.002"], "not evenly spaced or repeat one"),
             (["--members", "2", "--perturb", "water.level=0.0015"], "not evenly spaced"))
    for argv, words in cases:
        with pytest.raises(SystemExit) as exc:
            _study(monkeypatch, tmp_path, [*argv, "--merge", first])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert "--merge" in err and words in err, err


def test_solver_changes_name_the_solver_files_a_commit_differs_in():
    import subprocess

    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    sha = head.stdout.strip()
    assert bench.solver_changes([sha, sha + "+dirty"]) == {sha: [], sha + "+dirty": []}
    assert bench.solver_changes(["unknown"]) == {"unknown": ["unknown"]}


def test_code_ignores_comments_and_docstrings_only():
    a = 'def f(x):\n    """Twice x."""\n    return 2 * x  # doubled\n'
    b = 'def f(x):\n    """Twice x [m], reworded."""\n    # a comment\n    return 2 * x\n'
    c = 'def f(x):\n    """Twice x."""\n    return 3 * x\n'
    assert bench._code(a, "m.py") == bench._code(b, "m.py") != bench._code(c, "m.py")
    assert bench._code("a = 1", "notes.txt") == "a = 1" and bench._code(None, "m.py") is None


def test_a_study_of_one_variant_states_no_change():
    """A study of one variant (session 28: Δt/4 at the case's g2, ``--set dda.dt=0.00125 --variants
    base``) has no change of a mean to state: the statement leaves it out instead of failing (it
    ended the script in a traceback after writing the report)."""
    import json

    report = json.loads((ROOT / "benchmarks" / "out" / "vajont_10block_dt4_alone_session28.json").read_text(encoding="utf-8"))
    assert report["variants"] == ["base"] and report["common_overrides"]["dda.dt"] == 0.00125
    text = bench.accuracy_statement(report)
    assert "largest change" not in text and "--variants base --members 17" in text
    assert "the shipped run against the base ensemble mean" in text


def _members_for(report: dict, q: str, se: float = 0.007) -> int:
    """Members per Δt for the largest change of q's mean to have standard error ``se`` (the standard
    error falls as 1/√n), rounded as docs/cases.md prints it (2 significant figures)."""
    c = max(report["mean_change"][q].values(), key=lambda c: c["change"])
    n = report["members"] * (c["se"] / se) ** 2
    return int(float(f"{n:.2g}"))


def test_docs_state_what_the_ten_block_case_does_not_report_from_its_report():
    """docs/cases.md's session-31 paragraph (what vajont_10block reports) and README quote the latest
    ten-block report: the quantities it resolves and their worst change, the three it does not, with
    their changes and standard errors, and the members a 0.7 % standard error would take."""
    import coupling
    from conftest import CASES

    import json

    report = json.loads((ROOT / "benchmarks" / "out" / ENSEMBLE_REPORTS["vajont_10block.toml"][-1]).read_text(encoding="utf-8"))
    docs = " ".join((ROOT / "docs" / "cases.md").read_text(encoding="utf-8").split())
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    ch = bench.largest_mean_changes(report)
    spec = coupling.load_case(CASES / "vajont_10block.toml").spec
    reported = [q for q in ch if q not in spec.not_resolved]
    assert f"move by at most {100 * max(ch[q]['change'] for q in reported):.1f} % from Δt to Δt/4" in docs
    assert (f"standard errors {100 * min(ch[q]['se'] for q in reported):.1f}–"
            f"{100 * max(ch[q]['se'] for q in reported):.1f} %") in docs
    words = {"duration": "onset to rest", "band_temperature_rise_slide": "the band's temperature rise over the slide",
             "band_temperature_rise_slide_max": "its largest temperature rise over the slide"}
    for q, w in words.items():
        assert q in spec.not_resolved
        assert f"{w} ({100 * ch[q]['change']:.1f} %, standard error {100 * ch[q]['se']:.1f} %)" in docs, w
    d = report["statistics"]["base"]["duration"]
    assert f"runs spread by up to {100 * d['sd'] / d['mean']:.1f} % (onset to rest)" in docs
    n = [_members_for(report, q) for q in words]
    assert f"about {n[0]} members per Δt for onset to rest, {n[1]} for the temperature over the slide and {n[2]} for" in docs
    assert f"would take some {n[0]} members per Δt" in readme
    for q, w in (("runout", "run-out"), ("runup", "run-up")):
        assert f"{w} ({100 * ch[q]['change']:.1f} %, standard error {100 * ch[q]['se']:.1f} %)" in docs, w
    assert f"(about {_members_for(report, 'runout')} and {_members_for(report, 'runup')} members would show it)" in docs
    assert f"`{'`, `'.join(spec.not_resolved)}`" in docs
    off, sd = report["single_run"]["distance"], report["statistics"]["base"]
    spread = {q: 100 * sd[q]["sd"] / sd[q]["mean"] for q in ("runout", "runup")}
    assert (f"the shipped run lies {100 * off['runout']:+.1f} % (run-out) and {100 * off['runup']:+.1f} % (run-up) from the "
            f"Δt/4 mean, within the single runs' spread ({spread['runout']:.1f} % and {spread['runup']:.1f} %)") in docs
    # the other results (session 31): the largest change but the final speed's, and the final speed's
    flag = json.loads((ROOT / "benchmarks" / "out" / ENSEMBLE_REPORTS["vajont.toml"][-1]).read_text(encoding="utf-8"))
    others = {**bench.largest_other_changes(flag), **{f"10:{q}": c for q, c in bench.largest_other_changes(report).items()}}
    rest = max(c["change"] for q, c in others.items() if q.split(":")[-1] not in ("final_velocity", "time_to_rest"))
    assert f"Every other result moves at most {100 * rest:.1f} % from Δt to Δt/4" in docs
    flag_rest = max(c["change"] for q, c in bench.largest_other_changes(flag).items() if q != "final_velocity")
    ten_rest = bench.largest_other_changes(report)["time_to_rest"]["change"]
    assert (f"Every other number a run reports moves at most {100 * flag_rest:.1f} % here and {100 * rest:.1f} % in "
            f"`vajont_10block` (session 31: the runs read again for all of them; its time at rest aside, "
            f"{100 * ten_rest:.1f} %") in readme
    reruns = [json.loads((ROOT / "benchmarks" / "out" / f"{c}_ensemble_resolution_session31.json").read_text(encoding="utf-8"))
              for c in ("vajont_velocity_weakening", "vajont_learned_friction")]
    moved = [{**bench.largest_mean_changes(r), **bench.largest_other_changes(r)} for r in reruns]
    worst = max(c["change"] for m in moved for q, c in m.items() if q != "final_velocity")
    assert (f"every mean moves at most {100 * worst:.1f} % but the final speed's "
            f"({100 * moved[0]['final_velocity']['change']:.0f} % and {100 * moved[1]['final_velocity']['change']:.0f} %)") in docs
    speeds = [r["final_velocity"] for r in flag["runs"]]
    assert f"{min(speeds):.4f}–{max(speeds):.2f} m/s over the flagship's {len(speeds)} runs" in docs
    assert (f"its mean moves by {100 * others['final_velocity']['change']:.0f} % (flagship) and "
            f"{100 * others['10:final_velocity']['change']:.0f} % (ten blocks)") in docs


def test_every_number_a_dda_run_reports_is_recorded_per_run():
    """vajont_resolution records, per run, every top-level number of a DDA run's results (session 31),
    so that an ensemble report judges each (the monitored blocks are a list of indices)."""
    import vajont_resolution
    from coupling.output.units import SOLVER_RESULTS

    recorded = set(vajont_resolution.RESULTS) | {"onset_time", "time_to_rest"} | set(vajont_resolution.OTHER_RESULTS)
    assert set(SOLVER_RESULTS["dda"]) - recorded == {"monitored_blocks"}
    assert set(bench.OTHER) <= set(bench.WORDS)


def test_the_session_29_reports_judge_every_result_and_the_final_speed_is_not_resolved():
    """Both Vajont reports of session 29 (their run folders re-read in session 31) judge the other results
    too; each moves <= 2 % from dt to dt/4 but the final speed, the jitter of a mass at rest, whose mean
    moves by more than its own size: both cases name it in not_resolved."""
    import json

    for case in ("vajont.toml", "vajont_10block.toml"):
        report = json.loads((ROOT / "benchmarks" / "out" / ENSEMBLE_REPORTS[case][-1]).read_text(encoding="utf-8"))
        moved = bench.largest_other_changes(report)
        assert {"time_of_peak", "max_runout", "drop", "final_velocity", "front_x_final", "onset_time"} <= set(moved)
        assert moved["final_velocity"]["change"] > 1.0
        fine = [q for q, c in moved.items() if round(100 * c["change"], 1) <= 2.0]
        assert set(moved) - set(fine) == ({"final_velocity"} if case == "vajont.toml" else {"final_velocity", "time_to_rest"})
        assert "final speed" in bench.headline_statement(report)


@pytest.mark.parametrize("case", ["vajont_velocity_weakening", "vajont_learned_friction"])
def test_header_states_the_session_31_study(case):
    """The case's header: every mean of its session-31 study (every number a run reports) moves at most
    the figure it states, the final speed aside, which it names not resolved."""
    import json

    report = json.loads((ROOT / "benchmarks" / "out" / f"{case}_ensemble_resolution_session31.json").read_text(encoding="utf-8"))
    moved = {**bench.largest_mean_changes(report), **bench.largest_other_changes(report)}
    worst = max(c["change"] for q, c in moved.items() if q != "final_velocity")
    header = " ".join(line.lstrip("# ").strip() for line in (ROOT / "cases" / f"{case}.toml")
                      .read_text(encoding="utf-8").splitlines() if line.startswith("#"))
    assert f"the means move <= {100 * worst:.1f} %, all but the final speed" in header
    assert bench.not_resolved(report) == ["final_velocity"]
