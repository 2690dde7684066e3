"""Issue 14, item 5: the Vajont sensitivity benchmark (benchmarks/vajont_sensitivity.py).

The envelope at the case's own parameters, with the margin of test_dda_cases
(``VAJONT_MARGIN`` = 5 % of each edge: peak 21-28.5 m/s, run-out 315-380 m, run-up >= 105 m,
at rest 36.75-57 s after onset), and that every sample of the Latin hypercube over the
published ranges runs to its end (a sample that fails is recorded by the benchmark with its
error, never dropped)."""

import importlib.util

import pytest

from conftest import CASES, ROOT
from test_dda_cases import VAJONT_ENVELOPE, assert_inside_vajont_envelope

_spec = importlib.util.spec_from_file_location("vajont_sensitivity", ROOT / "benchmarks" / "vajont_sensitivity.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

CASE = str(CASES / "vajont.toml")


def test_latin_hypercube_puts_one_sample_in_each_stratum_of_every_published_range():
    n = 5
    samples = bench.latin_hypercube(n)
    assert len(samples) == n
    for key, (lo, hi) in bench.PARAMS.items():
        strata = sorted(int((s[key] - lo) / (hi - lo) * n) for s in samples)
        assert strata == list(range(n)), (key, [s[key] for s in samples])


@pytest.fixture(scope="module")
def base_sample():
    """The case at its own parameters, through the benchmark's runner (full settings)."""
    return bench.run_one((CASE, {}, False, None))


@pytest.mark.slow
def test_the_case_parameters_fall_inside_the_envelope_with_the_stated_margin(base_sample):
    assert base_sample["ok"], base_sample
    assert_inside_vajont_envelope(base_sample, ("peak_velocity", "runout", "runup"))


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 14 (open): at rest ~29 s after onset at the case's parameters "
                   "(test_dda_cases.test_vajont_comes_to_rest_in_the_observed_time)")
def test_the_case_parameters_come_to_rest_inside_the_envelope(base_sample):
    assert base_sample["ok"], base_sample
    assert_inside_vajont_envelope(base_sample, ("duration",))


@pytest.mark.slow
def test_every_hypercube_sample_finishes():
    """Three samples of the hypercube over residual friction, band thickness, Λ and reservoir
    level (the benchmark's --quick settings, 40 s simulated): each runs to its end and reports
    a peak velocity and a run-out (its time to rest may be None if it still moves at 40 s)."""
    for sets in bench.latin_hypercube(3):
        out = bench.run_one((CASE, sets, True, 40.0))
        assert out["ok"], out
        assert out["peak_velocity"] is not None and out["peak_velocity"] > 0, out
        assert out["runout"] is not None, out
    assert set(bench.RESULTS) <= set(VAJONT_ENVELOPE)
