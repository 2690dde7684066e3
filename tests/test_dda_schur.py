"""The distributed substructuring solve (``dda.linear_solver = "schur"``, dda.schur).

* against a direct solve on random block systems (SPD and non-symmetric, 1–8 parts);
* 2 ranks give the numbers of 1 rank to the last bit: the solve alone (contacts scattered over
  the ranks at random), the settling 10 × 10 stack (101 blocks), a grid sliding down an
  incline (ghost layers rebuilt) and a short Vajont run;
* bad values of the keys give the one-line error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, mpiexec, run_cli

#: a random block system: blocks on a jittered square lattice, a contact between every two
#: blocks whose 1.2-wide boxes overlap (8 neighbours), 3 fixed blocks; block terms SPD
#: (B Bᵀ + 6 I), contact terms 50 W Wᵀ (rank 3, as a contact's springs), plus a random
#: non-symmetric part when ``symmetric`` is False (sliding friction makes K non-symmetric)
RANDOM_SYSTEM = '''
import numpy as np
from dda.contact_detect import broad_phase_grid

def random_system(nb=300, seed=0, symmetric=True):
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(nb)))
    c = np.array([(k % side, k // side) for k in range(nb)], float) + 0.1 * rng.standard_normal((nb, 2))
    fixed = np.zeros(nb, bool)
    fixed[:3] = True
    pairs = broad_phase_grid(np.hstack([c - 0.6, c + 0.6]), 0.0)
    nc = pairs.shape[0]
    B = rng.standard_normal((nb, 6, 6))
    Kb = np.einsum("bij,bkj->bik", B, B) + 6 * np.eye(6)
    W = rng.standard_normal((nc, 12, 3))
    Kc = 50 * np.einsum("cik,cjk->cij", W, W)
    if not symmetric:
        Kc += 5 * rng.standard_normal((nc, 12, 12))
    Fb, Fc = rng.standard_normal((nb, 6)), rng.standard_normal((nc, 12))
    key = rng.permutation(nc) * 7  # contact keys: any distinct integers, in no block order
    return c, fixed, pairs[:, 0].copy(), pairs[:, 1].copy(), key, Kb, Fb, Kc, Fc
'''

#: the largest difference from the direct (SciPy SuperLU) solution, relative to max |D|, measured
#: 2.5e-15 … 8.7e-15 over these systems and part counts; the bound is ~10× that
DIRECT_RTOL = 1e-13


def _random(symmetric: bool):
    ns: dict = {}
    exec(RANDOM_SYSTEM, ns)
    return ns["random_system"](symmetric=symmetric)


@pytest.mark.parametrize("symmetric", [True, False])
def test_schur_solve_matches_a_direct_solve(symmetric):
    """D from the substructuring (1, 2, 4, 8 parts) against SciPy's direct solve of the
    assembled system; the same call twice gives the same bits (pattern reuse)."""
    from mpi4py import MPI

    from dda.assembly import GlobalSystem
    from dda.schur import SchurSolve, assign_parts

    c, fixed, ci, cj, key, Kb, Fb, Kc, Fc = _random(symmetric)
    nb = c.shape[0]
    ref = GlobalSystem(nb, fixed, MPI.COMM_SELF, "scipy").solve(Kb, Fb, Kc, Fc, ci, cj)
    assert np.abs(ref).max() > 0
    for parts in (1, 2, 4, 8):
        solver = SchurSolve(assign_parts(c, fixed, parts), parts, fixed, MPI.COMM_SELF)
        D = solver.solve(np.arange(nb), Kb, Fb, key, ci, cj, Kc, Fc, pattern_key=1)
        assert (solver.n_interface > 0) == (parts > 1)
        err = np.abs(D - ref).max() / np.abs(ref).max()
        assert err < DIRECT_RTOL, (parts, err)
        assert np.all(D[fixed] == 0.0)
        again = solver.solve(np.arange(nb), Kb, Fb, key, ci, cj, Kc, Fc, pattern_key=2)  # same contacts: reused
        assert solver.n_patterns == 1
        np.testing.assert_array_equal(again, D)
        solver.destroy()


TWO_RANKS = RANDOM_SYSTEM + '''
import sys
from mpi4py import MPI
from dda.schur import SchurSolve, assign_parts, part_ranks

comm = MPI.COMM_WORLD
bad = 0
for symmetric in (True, False):
    c, fixed, ci, cj, key, Kb, Fb, Kc, Fc = random_system(symmetric=symmetric)
    nb = c.shape[0]
    for K in (2, 4):
        part = assign_parts(c, fixed, K)
        one = SchurSolve(part, K, fixed, MPI.COMM_SELF).solve(np.arange(nb), Kb, Fb, key, ci, cj, Kc, Fc, pattern_key=1)
        owner = np.where(part >= 0, part_ranks(K, comm.size)[np.maximum(part, 0)], np.arange(nb) % comm.size)
        own = np.flatnonzero(owner == comm.rank)
        mine = np.flatnonzero(key % (2 * comm.size) // 2 == comm.rank)  # contacts on ranks at random
        D = SchurSolve(part, K, fixed, comm).solve(own, Kb[own], Fb[own], key[mine], ci[mine], cj[mine], Kc[mine],
                                                    Fc[mine], pattern_key=1)
        bad += int(not np.array_equal(D, one[own]))
bad = comm.allreduce(bad)
if comm.rank == 0:  # one line (the count is the same on every rank after the allreduce)
    print("mismatches", bad)
sys.exit(1 if bad else 0)
'''


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _run_script(path, text: str, nproc: int) -> str:
    """Write ``text`` to ``path``, run it on ``nproc`` MPI ranks from the repository root; its stdout
    (the run must exit 0)."""
    path.write_text(text)
    p = subprocess.run([mpiexec(), "-n", str(nproc), sys.executable, str(path)], capture_output=True, text=True,
                       cwd=ROOT, env=_env(), timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


@pytest.mark.mpi
def test_schur_solve_on_two_ranks_is_bitwise_the_one_rank_solve(tmp_path):
    """The solve alone: each rank owns its parts' blocks and holds contacts picked at random
    (routed to the parts that assemble them); 2 and 4 parts, SPD and non-symmetric."""
    assert "mismatches 0" in _run_script(tmp_path / "two.py", TWO_RANKS, 2)


def _selfcheck(out, nproc: int, problem: str, steps: int) -> dict:
    cmd = [sys.executable, "-m", "dda.selfcheck", str(out), "--problem", problem, "--steps", str(steps),
           "--linear-solver", "schur"]
    if nproc > 1:
        cmd = [mpiexec(), "-n", str(nproc), *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600, env=_env())
    assert p.returncode == 0, p.stdout + p.stderr
    return dict(np.load(out))


@pytest.mark.mpi
def test_settling_stack_with_the_schur_solve_two_ranks_equal_one(tmp_path):
    """The 10 × 10 stack settling on its base (101 blocks, ~540 contacts opening, closing,
    sliding): every compared history of 2 ranks is that of 1 rank, bit for bit."""
    from test_dda_mpi import COMPARED

    one = _selfcheck(tmp_path / "one.npz", 1, "settle", 12)
    two = _selfcheck(tmp_path / "two.npz", 2, "settle", 12)
    assert int(one["mpi_ranks"]) == 1 and int(two["mpi_ranks"]) == 2
    assert one["oc_iterations"].max() >= 3 and one["n_sliding"].max() > 0
    assert np.all(two["per_rank"][:, 0] > 0)  # both ranks own blocks
    for name in COMPARED:
        np.testing.assert_array_equal(two[name], one[name], err_msg=name)


@pytest.mark.mpi
@pytest.mark.slow
def test_moving_grid_with_the_schur_solve_two_ranks_equal_one(tmp_path):
    """A jointed 8 × 8 grid sliding down an incline (dda.selfcheck ``grid``): the ghost layers
    are rebuilt as it moves (the owners stay those of the fixed parts) and the contacts change
    from step to step (new interface, new routing); 2 ranks give the bits of 1 rank."""
    from test_dda_mpi import COMPARED

    one = _selfcheck(tmp_path / "one.npz", 1, "grid", 15)
    two = _selfcheck(tmp_path / "two.npz", 2, "grid", 15)
    assert np.abs(one["centroid"][-1] - one["centroid"][0]).max() > 0.01
    assert int(two["repartitions"]) >= 3
    for name in COMPARED:
        np.testing.assert_array_equal(two[name], one[name], err_msg=name)


@pytest.mark.mpi
@pytest.mark.slow
def test_vajont_10block_with_the_schur_solve_two_ranks_equal_one(tmp_path):
    """A short Vajont run (ten compartments: 0.5 s of static settling, then 1 s of the event)
    with the schur solve: the summary's results on 2 ranks are those of 1 rank exactly."""
    out = {}
    for n in (1, 2):
        d = tmp_path / f"n{n}"
        r = run_cli("run", "cases/vajont_10block.toml", "-o", str(d), "-q", "--set", "dda.linear_solver=schur",
                    "--set", "dda.settle_time=0.5", "--set", "dda.duration=1.5", "--set", "output.fields=false",
                    "--set", "output.plots=false", nproc=n)
        assert r.returncode == 0, r.stderr
        out[n] = json.loads((d / "summary.json").read_text())
        assert out[n]["solver"]["mpi_ranks"] == n
    assert out[1]["results"]["runout"] > 0
    assert out[2]["results"] == out[1]["results"]
    assert out[2]["not_resolved"] == out[1]["not_resolved"]  # the case's not_resolved key: onset to rest, ...
    assert out[2]["solver"]["steps"] == out[1]["solver"]["steps"]


@pytest.mark.parametrize("setting, found, allowed", [
    ("dda.linear_solver=schurr", "'schurr'", "'schur'"),
    ("dda.schur_parts=0", "0", "greater than or equal to 1"),
])
def test_bad_schur_keys_give_the_one_line_error(tmp_path, setting, found, allowed):
    out = tmp_path / "out"
    r = run_cli("run", "cases/vajont_10block.toml", "-o", str(out), "--set", setting)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cases/vajont_10block.toml: --set " + setting.split("=")[0]), r.stderr
    assert f"found {found}" in lines[0] and allowed in lines[0]
    assert not out.exists()


@pytest.mark.mpi
def test_fewer_parts_than_ranks_is_a_one_line_error(tmp_path):
    out = tmp_path / "out"
    r = run_cli("run", "cases/vajont_10block.toml", "-o", str(out), "--set", "dda.linear_solver=schur",
                "--set", "dda.schur_parts=1", nproc=2)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cases/vajont_10block.toml: --set dda.schur_parts: found 1"), r.stderr
    assert "at least the number of MPI ranks (2)" in lines[0]
    assert not out.exists()


def _small_stack(**settings):
    from dda_stack_case import stack_3x3

    return stack_3x3(0.01, **settings)


def test_auto_linear_solver_is_chosen_by_size_alone(monkeypatch):
    """``linear_solver = "auto"`` (the default): MUMPS below ``SCHUR_AUTO_MIN_FREE_BLOCKS`` free
    blocks, the schur solve from there on; the rank count plays no part (rule and the two
    choices, run to the same bits as the explicit solver, on a 3 × 3 stack with the
    threshold lowered to its 9 free blocks)."""
    import dda
    from dda import assembly
    from dda.schur import SchurSolve

    assert dda.Settings().linear_solver == "auto"
    assert assembly.resolve_linear_solver("auto", assembly.SCHUR_AUTO_MIN_FREE_BLOCKS - 1) == "mumps"
    assert assembly.resolve_linear_solver("auto", assembly.SCHUR_AUTO_MIN_FREE_BLOCKS) == "schur"
    assert assembly.resolve_linear_solver("mumps", 10**6) == "mumps"

    def run(**kw):
        sim = _small_stack(**kw)
        while sim.state.time < sim.settings.duration * (1 - 1e-12):
            sim.step()
        return sim

    auto, mumps = run(), run(linear_solver="mumps")
    assert auto.linear_solver == "mumps" and not isinstance(auto.solver, SchurSolve)
    assert np.array_equal(auto.state.xy, mumps.state.xy)
    monkeypatch.setattr(assembly, "SCHUR_AUTO_MIN_FREE_BLOCKS", 9)
    auto, schur = run(), run(linear_solver="schur")
    assert auto.linear_solver == "schur" and isinstance(auto.solver, SchurSolve)
    assert np.array_equal(auto.state.xy, schur.state.xy)


AUTO_MORE_RANKS = r'''
import sys
import numpy as np
from mpi4py import MPI
import dda
import learned
from dda import assembly

assembly.SCHUR_AUTO_MIN_FREE_BLOCKS = 9  # the 3 x 3 stack's free blocks: "auto" takes schur
polys = [np.array([[-1, -1], [4, -1], [4, 0], [-1, 0]], float)]
polys += [np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float) for j in range(3) for i in range(3)]
s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
s.add_material(0, learned.LinearElastic(10e9, 0.25), 2500.0)
s.set_joint_law(learned.CoulombFriction(phi=30.0))
# distributed at this size too (dda.Settings.distribute_min_free_blocks; the default replicates it)
sim = dda.Simulation(s, dda.Settings(duration=0.01, dt=1e-3, length_scale=2.5, max_displacement_ratio=0.016,
                                     penalty=5e11, distribute_min_free_blocks=0))
while sim.state.time < sim.settings.duration * (1 - 1e-12):
    sim.step()
if MPI.COMM_WORLD.rank == 0:
    print("solver", sim.linear_solver, "parts", sim.schur_parts)
'''


@pytest.mark.mpi
def test_auto_on_more_ranks_than_schur_parts_splits_into_more_parts(tmp_path):
    """``linear_solver = "auto"`` that takes the schur solve on more ranks than ``schur_parts``
    runs (one part per rank) instead of stopping; an explicit "schur" keeps the one-line error
    (test above)."""
    assert "solver schur parts 3" in _run_script(tmp_path / "auto3.py", AUTO_MORE_RANKS, 3)
