"""Fixed-point engine: convergence of each accelerator, Anderson faster than Picard, MPI."""

import numpy as np
import pytest

from conftest import ROOT, run_python
from coupling.solvers.fixed_point import Aitken, Anderson, ConstantRelaxation, make_accelerator, solve_fixed_point


def contraction(n=40, rho=0.95, seed=1):
    """G(x) = A x + b with spectral radius rho: fixed point x* = (I − A)⁻¹ b."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(rho * np.linspace(-1, 1, n)) @ Q.T
    b = rng.normal(size=n)
    return (lambda x: A @ x + b), np.linalg.solve(np.eye(n) - A, b)


@pytest.mark.parametrize("acc", [ConstantRelaxation(1.0), Aitken(), Anderson(depth=8)])
def test_each_accelerator_converges_to_the_fixed_point(acc):
    G, xstar = contraction()
    res = solve_fixed_point(G, np.zeros_like(xstar), acc, rtol=1e-10, max_iterations=2000)
    assert res.converged
    assert np.linalg.norm(res.x - xstar) <= 1e-8 * np.linalg.norm(xstar)
    assert res.residuals[-1] <= 1e-10


def test_anderson_needs_far_fewer_iterations_than_picard():
    G, xstar = contraction()
    picard = solve_fixed_point(G, np.zeros_like(xstar), ConstantRelaxation(1.0), rtol=1e-8, max_iterations=5000)
    anderson = solve_fixed_point(G, np.zeros_like(xstar), Anderson(depth=10), rtol=1e-8, max_iterations=5000)
    assert picard.converged and anderson.converged
    assert anderson.iterations * 4 < picard.iterations  # measured: 61 vs 304


def test_nonlinear_map():
    G = lambda x: np.cos(x)  # noqa: E731  (x = cos x, x* = 0.739085...)
    res = solve_fixed_point(G, np.full(3, 1.0), make_accelerator("aitken"), rtol=1e-12)
    assert res.converged and np.allclose(res.x, 0.7390851332151607, atol=1e-10)


def test_divergent_map_reports_not_converged():
    res = solve_fixed_point(lambda x: 2 * x + 1, np.ones(2), ConstantRelaxation(1.0), max_iterations=20)
    assert not res.converged and res.iterations == 20


def test_unknown_method():
    with pytest.raises(ValueError, match="anderson"):
        make_accelerator("newton")


SCRIPT = '''
import sys, json
import numpy as np
from mpi4py import MPI
sys.path.insert(0, sys.argv[1])
from coupling.solvers.fixed_point import Anderson, solve_fixed_point
comm = MPI.COMM_WORLD
n = 60
rng = np.random.default_rng(3)
Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
A = Q @ np.diag(0.9 * np.linspace(-1, 1, n)) @ Q.T
b = rng.normal(size=n)
lo, hi = comm.rank * n // comm.size, (comm.rank + 1) * n // comm.size
def G(xl):
    x = np.concatenate(comm.allgather(xl))
    return (A @ x + b)[lo:hi]
res = solve_fixed_point(G, np.zeros(hi - lo), Anderson(depth=6), rtol=1e-10, comm=comm)
x = np.concatenate(comm.allgather(res.x))
if comm.rank == 0:
    print(json.dumps({"it": res.iterations, "x": x.tolist(), "hist": res.residuals}))
'''


@pytest.mark.mpi
def test_two_ranks_take_the_same_iterations(tmp_path):
    import json

    script = tmp_path / "fp.py"
    script.write_text(SCRIPT)
    out = [json.loads(run_python(script, str(ROOT), nproc=n).stdout) for n in (1, 2)]
    assert out[0]["it"] == out[1]["it"]
    assert np.allclose(out[0]["x"], out[1]["x"], rtol=1e-10, atol=1e-12)
