"""DDA bad input names the key path, what was found and what is allowed; blow-ups raise
SolverDivergence with the last good state kept (and written)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import dda
import learned
from dda.cutting import JointSet, cut_blocks

SQ = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)


def test_self_intersecting_polygon():
    bowtie = np.array([[0, 0], [1, 1], [1, 0], [0, 1]], float)
    with pytest.raises(dda.InputError) as e:
        dda.BlockSystem([SQ + 5, bowtie])
    assert e.value.key_path == "blocks[1].polygon"
    assert "self-intersecting" in e.value.found and "simple" in e.value.allowed


def test_overlapping_blocks():
    with pytest.raises(dda.InputError) as e:
        dda.BlockSystem([SQ, SQ + [0.5, 0.2]])
    assert e.value.key_path.startswith("blocks[") and "overlaps" in str(e.value)
    dda.BlockSystem([SQ, SQ + [1.0, 0.0], SQ + [0.0, 1.0]])  # touching is fine


def test_joint_set_that_cuts_nothing():
    dom = np.array([[0, 0], [10, 0], [10, 5], [0, 5]], float)
    with pytest.raises(dda.InputError) as e:
        cut_blocks(dom, joint_sets=[JointSet(dip=45.0, spacing=2.0), JointSet(dip=0.0, spacing=1.0, trace_length=0.5, gap=5.0)])
    assert e.value.key_path == "joint_sets[1]"
    assert "cuts nothing" in str(e.value)


@pytest.mark.parametrize("density", [0.0, -2500.0])
def test_bad_density(density):
    s = dda.BlockSystem([SQ])
    with pytest.raises(dda.InputError) as e:
        s.add_material(0, learned.LinearElastic(1e9, 0.25), density)
    assert e.value.key_path == "materials[0].density"


class _NegativeLaw(learned.ConstitutiveLaw):
    kind = "negative"

    def evaluate(self, strain, state=None):
        C = -np.eye(3) * 1e9
        return learned.LawResponse(strain @ C.T, np.broadcast_to(C, (strain.shape[0], 3, 3)), np.zeros((strain.shape[0], 0)))

    def evaluate_3d(self, strain4, state):  # a law defined in 2D only declares it has no 3D form
        raise NotImplementedError


def test_bad_stiffness():
    s = dda.BlockSystem([SQ])
    with pytest.raises(dda.InputError) as e:
        s.add_material(0, _NegativeLaw(), 2500.0)
    assert e.value.key_path == "materials[0].law"
    with pytest.raises(dda.InputError) as e:
        dda.Settings(penalty=-1.0).validate()
    assert e.value.key_path == "settings.penalty"


def test_time_step_longer_than_run():
    s = dda.BlockSystem([SQ])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    with pytest.raises(dda.InputError) as e:
        dda.Simulation(s, dda.Settings(duration=0.1, dt=0.5))
    assert e.value.key_path == "settings.dt"
    assert "0.5" in e.value.found and "0.1" in e.value.allowed


def test_missing_material_and_unknown_solver():
    s = dda.BlockSystem([SQ], material=3)
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    with pytest.raises(dda.InputError) as e:
        dda.Simulation(s, dda.Settings())
    assert e.value.key_path == "blocks[0].material"
    with pytest.raises(dda.InputError) as e:
        dda.Settings(linear_solver="lu").validate()
    assert e.value.key_path == "settings.linear_solver"


def test_divergence_keeps_last_good_state(tmp_path):
    base = np.array([[-2, -1], [3, -1], [3, 0], [-2, 0]], float)
    s = dda.BlockSystem([base, SQ + [0.0, 0.01]], fixed=[0])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    s.set_velocity(1, vy=-5.0)
    # an absurdly soft contact penalty and no step may raise it in time: the block sinks through the
    # base (since session 15 a step that leaves a closing contact past half the limit raises the
    # penalty for the next one, Simulation._impact_penalty; with max_retries 0 the first step that
    # crosses the limit ends the run)
    settings = dda.Settings(duration=0.5, dt=0.01, penalty=10.0, max_retries=0, output_dir=tmp_path / "out")
    sim = dda.Simulation(s, settings)
    with pytest.raises(dda.SolverDivergence) as e:
        sim.solve()
    err = e.value
    assert err.block == 1 and err.step >= 1
    assert "penetration" in str(err) and f"step {err.step}" in str(err)
    good = err.last_state
    assert good.step == err.step - 1 and np.all(np.isfinite(good.xy))
    assert sim.last_good_state.step == good.step
    assert err.result.status == "diverged"
    with h5py.File(tmp_path / "out" / "history.h5") as f:
        assert f.attrs["status"] == "diverged"
        np.testing.assert_allclose(f["state/xy"][()], good.xy)
    assert (tmp_path / "out" / "blocks.pvd").exists()
