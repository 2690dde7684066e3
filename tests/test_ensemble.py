"""deepmanifold ensemble: designs, members, the HDF5 table, failures, resume, mpi4py.futures workers."""

from __future__ import annotations

import json
import re
import sys

import h5py
import numpy as np
import pytest

from conftest import CASES, mpiexec, run_cli

# a DDA incline of 10 steps, no plots or field files: about a second per member
FAST = ["--set", "dda.duration=0.02", "--set", "output.plots=false", "--set", "output.fields=false"]
FAST_OVERRIDES = {"dda.duration": 0.02, "output.plots": False, "output.fields": False}


def test_designs_fill_the_box_and_respect_log_scale():
    from coupling.ensemble.design import Parameter, sample_design, unit_design

    params = [Parameter("a", 1.0, 3.0), Parameter("b", 1e3, 1e5, log=True)]
    for kind in ("lhs", "sobol"):
        x = sample_design(params, 16, kind, seed=3)
        assert x.shape == (16, 2)
        assert np.all((x[:, 0] >= 1) & (x[:, 0] <= 3)) and np.all((x[:, 1] >= 1e3) & (x[:, 1] <= 1e5))
        np.testing.assert_array_equal(x, sample_design(params, 16, kind, seed=3))  # seeded
    u = unit_design("lhs", 10, 1, seed=0)[:, 0]  # Latin hypercube: one point in each tenth
    assert sorted(np.floor(u * 10).astype(int)) == list(range(10))
    g = sample_design(params, 9, "grid", seed=0)
    assert sorted(set(np.round(g[:, 0], 12))) == pytest.approx([1 + 2 / 6, 2.0, 3 - 2 / 6])
    assert sorted(set(np.round(np.log10(g[:, 1]), 12))) == pytest.approx([3 + 1 / 3, 4.0, 5 - 1 / 3])


def test_members_table_failure_and_resume(tmp_path):
    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble

    params = [Parameter("joints.default.law.phi", 10.0, 28.0)]
    points = np.array([[20.0], [-5.0], [25.0]])  # phi = -5 is rejected by the case schema: a failed member
    out = tmp_path / "ens"
    res = run_ensemble(CASES / "dda_incline.toml", params, points, out, overrides=FAST_OVERRIDES, progress=None)
    assert [m["status"] for m in res.members] == ["ok", "failed", "ok"]
    assert "joints.default.law.phi" in res.members[1]["message"]
    with h5py.File(out / "ensemble.h5") as f:
        names = list(f.attrs["output_names"])
        runout = f["outputs"][:, names.index("runout")]
        np.testing.assert_array_equal(f["parameters"][()], points)
        assert [s.decode() for s in f["status"][()]] == ["ok", "failed", "ok"]
    for i in (0, 2):  # the table holds what each member's summary.json says
        summary = json.loads((out / "members" / f"{i:04d}" / "summary.json").read_text())
        assert runout[i] == summary["results"]["runout"]
        assert summary["case"]["overrides"]["joints.default.law.phi"] == points[i, 0]
    assert np.isnan(runout[1])
    assert runout[0] < runout[2] < 0  # less friction slides further (runout is negative x)
    seen = []
    again = run_ensemble(CASES / "dda_incline.toml", params, points, out, overrides=FAST_OVERRIDES, progress=None,
                         on_member=lambda m: seen.append(m["index"]))
    assert seen == [1]  # only the failed member ran again
    assert again.counts["reused"] == 2
    with h5py.File(out / "ensemble.h5") as f:
        np.testing.assert_array_equal(f["outputs"][:, names.index("runout")], runout)


def test_cli_ensemble_and_mpi4py_futures_workers_agree(tmp_path):
    args = ["cases/dda_incline.toml", "--vary", "joints.default.law.phi=15:28", "--samples", "3", "--seed", "7", *FAST]
    r = run_cli("ensemble", *args, "-o", str(tmp_path / "serial"))
    assert r.returncode == 0, r.stderr
    assert "[3/3] member" in r.stderr and "3 ok" in r.stdout
    import subprocess

    cmd = [mpiexec(), "-n", "3", sys.executable, "-m", "mpi4py.futures", "-m", "coupling", "ensemble", *args,
           "-o", str(tmp_path / "mpi")]
    m = subprocess.run(cmd, capture_output=True, text=True, cwd=CASES.parent, timeout=600)
    assert m.returncode == 0, m.stderr
    assert "on 2 worker(s)" in m.stderr
    with h5py.File(tmp_path / "serial" / "ensemble.h5") as a, h5py.File(tmp_path / "mpi" / "ensemble.h5") as b:
        np.testing.assert_array_equal(a["parameters"][()], b["parameters"][()])
        names = list(a.attrs["output_names"])
        assert list(b.attrs["output_names"]) == names
        for key in ("runout", "peak_velocity", "drop"):
            np.testing.assert_array_equal(a["outputs"][:, names.index(key)], b["outputs"][:, names.index(key)])
    r = run_cli("ensemble", *args, "-o", str(tmp_path / "serial"))  # a rerun reuses every member
    assert r.returncode == 0 and "(3 reused)" in r.stdout, r.stderr


def test_cli_ensemble_closes_with_one_line(tmp_path):
    """One closing line (stdout) with everything the two said before session 19 ("ensemble: 2 ok,
    ... in T s -> TABLE" on stderr and "wrote TABLE: 2 members, 2 ok, ..." on stdout)."""
    out = tmp_path / "ens"
    r = run_cli("ensemble", "cases/dda_incline.toml", "--vary", "joints.default.law.phi=15:28", "--samples", "2",
                *FAST, "-o", str(out))
    assert r.returncode == 0, r.stderr
    table = str(out / "ensemble.h5")
    closing = [line for line in (r.stdout + r.stderr).splitlines() if "reused)" in line]
    assert len(closing) == 1, (r.stdout, r.stderr)
    assert re.fullmatch(rf"wrote {re.escape(table)}: 2 members, 2 ok, 0 diverged, 0 failed \(0 reused\) in "
                        r"\d+\.\d s", closing[0]), closing
    assert closing[0] in r.stdout.splitlines() and "[2/2] member" in r.stderr


def test_a_tied_parameter_sets_every_key_it_names_to_one_value(tmp_path):
    """``KEY1,KEY2=LO:HI``: one parameter (one column of the design and of the table) whose value
    every named key takes, e.g. a slope's top vertex and the end of the run-up line on it."""
    from coupling.ensemble.design import parse_vary
    from coupling.ensemble.engine import run_ensemble

    p = parse_vary("joints.default.law.phi, joints.default.law.cohesion=10:28")  # [deg] and [Pa]: a test tie
    assert p.keys == ("joints.default.law.phi", "joints.default.law.cohesion") and p.sets(20) == {
        "joints.default.law.phi": 20.0, "joints.default.law.cohesion": 20.0}
    assert p.label == "phi=cohesion" and parse_vary("joints.default.law.phi=1:2").label == "phi"
    out = tmp_path / "ens"
    res = run_ensemble(CASES / "dda_incline.toml", [p], np.array([[12.0], [24.0]]), out, overrides=FAST_OVERRIDES,
                       progress=None)
    assert [m["status"] for m in res.members] == ["ok", "ok"]
    for i, phi in enumerate((12.0, 24.0)):
        summary = json.loads((out / "members" / f"{i:04d}" / "summary.json").read_text())
        joints = summary["case"]["input"]["joints"]
        assert joints["default"]["law"]["phi"] == phi and joints["default"]["law"]["cohesion"] == phi
    with h5py.File(out / "ensemble.h5") as f:
        assert list(f.attrs["parameter_names"]) == ["joints.default.law.phi,joints.default.law.cohesion"]
        assert f["parameters"].shape == (2, 1)


@pytest.mark.parametrize("extra, expected", [
    (["--vary", "joints.default.law.phi,joints.default.law.phi=15:28"], "a key tied to itself"),
    (["--vary", "joints.default.law.phi,joints..x=15:28"], "malformed key path"),
    (["--vary", "joints.default.law.phi=15:28", "--vary", "dda.dt,joints.default.law.phi=1e-3:2e-3"],
     "found the key 'joints.default.law.phi' twice"),
    (["--vary", "joints.default.law.phi=28:15"], "--vary: found 'joints.default.law.phi=28:15'"),
    (["--vary", "joints.default.law.phi=0:28:log2"], "--vary: found"),
    (["--vary", "joints.default.nope=1:2"], "nope"),
    (["--vary", "joints.default.law.phi=-10:20"], "joints.default.law.phi"),
    (["--vary", "joints.default.law.phi=15:28", "--vary", "dda.dt=1e-3:2e-3", "--design", "grid"], "--samples: found 3 with --design grid"),
    (["--vary", "joints.default.law.phi=15:28", "--design", "halton"], "--design: found"),
    # a seed a grid does not draw from, even 0 given explicitly (session 19: accepted and ignored)
    (["--vary", "joints.default.law.phi=15:28", "--design", "grid", "--seed", "0"], "--seed: found 0 with --design grid"),
    (["--vary", "joints.default.law.phi=15:28", "--probe", "top=uy@0,1"], "--probe: found with the dda case"),
])
def test_bad_options_one_line_exit_2_nothing_written(tmp_path, extra, expected):
    out = tmp_path / "ens"
    r = run_cli("ensemble", "cases/dda_incline.toml", "--samples", "3", *extra, "-o", str(out))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    assert expected in lines[0], lines[0]
    assert not out.exists()


def test_the_seed_is_read_by_the_designs_that_draw():
    """--seed: lhs and sobol draw with it (default 0); grid draws nothing, so a given seed is refused
    and an absent one is recorded as 0 (as before session 19: a grid ensemble written then resumes)."""
    from coupling.errors import CaseError
    from coupling.global_local_cli import SEEDED_DESIGNS, design_seed
    from coupling.ensemble.design import DESIGNS, Parameter, sample_design

    params = [Parameter("a", 1.0, 3.0), Parameter("b", 0.0, 1.0)]
    for kind in DESIGNS:
        assert design_seed(kind, None) == 0
        draws = not np.array_equal(sample_design(params, 4, kind, 0), sample_design(params, 4, kind, 1))
        assert draws == (kind in SEEDED_DESIGNS), kind
        if draws:
            assert design_seed(kind, 5) == 5
        else:
            with pytest.raises(CaseError, match="--seed"):
                design_seed(kind, 5)


def test_a_folder_that_is_not_an_ensemble_is_never_touched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    r = run_cli("ensemble", "cases/dda_incline.toml", "--vary", "joints.default.law.phi=15:28", "--samples", "2",
                *FAST, "-o", str(out))
    assert r.returncode == 2 and "is an existing folder that is not an ensemble" in r.stderr, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_probe_adds_a_point_value_to_every_member_of_a_fem_ensemble(tmp_path):
    out = tmp_path / "ens"
    r = run_cli("ensemble", "cantilever", "--vary", "material.E=20e9:40e9:log", "--samples", "2", "--design", "grid",
                "--set", "mesh.cells=[20, 2]", "--set", "output.plots=false", "--set", "output.fields=false",
                "--probe", "mid=uy@5.0,0.0", "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    with h5py.File(out / "ensemble.h5") as f:
        names = list(f.attrs["output_names"])
        E = f["parameters"][:, 0]
        mid, tip = f["outputs"][:, names.index("probes.mid")], f["outputs"][:, names.index("probes.tip_deflection")]
    assert np.all(mid < 0) and np.all(np.abs(mid) < np.abs(tip))
    # linear elasticity: deflection ∝ 1/E (to round-off of the two solves; 1e-9 is ~1e6 x that)
    assert mid[0] * E[0] == pytest.approx(mid[1] * E[1], rel=1e-9)


def test_a_set_table_holding_the_varied_key_is_recorded_as_given_and_resumes(tmp_path):
    """--set 'joints.default.law={kind="coulomb", phi=20}' with --vary joints.default.law.phi: the
    varied value was written into the --set table itself (one dict object), so summary.json
    recorded a --set the user never gave and a rerun of the same command re-ran every member
    (0 reused). The table is copied when applied: recorded as given, members reused."""
    from coupling.case.loader import load_case
    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble

    table = {"kind": "coulomb", "phi": 20.0}
    case = load_case(CASES / "dda_incline.toml", {"joints.default.law": table, "joints.default.law.phi": 25.0})
    assert table == {"kind": "coulomb", "phi": 20.0}  # the caller's object is not changed
    assert case.overrides["joints.default.law"] == {"kind": "coulomb", "phi": 20.0}
    assert case.spec.joints["default"].law.phi == 25.0

    params = [Parameter("joints.default.law.phi", 15.0, 28.0)]
    points = np.array([[16.0], [24.0]])
    overrides = {**FAST_OVERRIDES, "joints.default.law": {"kind": "coulomb", "phi": 20.0}}
    out = tmp_path / "ens"
    run_ensemble(CASES / "dda_incline.toml", params, points, out, overrides=overrides, progress=None)
    summary = json.loads((out / "members" / "0001" / "summary.json").read_text())
    assert summary["case"]["overrides"]["joints.default.law"] == {"kind": "coulomb", "phi": 20.0}
    assert summary["case"]["input"]["joints"]["default"]["law"]["phi"] == 24.0
    again = run_ensemble(CASES / "dda_incline.toml", params, points, out, overrides=overrides, progress=None)
    assert again.counts["reused"] == 2
