"""A short multi-block run used to compare MPI runs with the serial one.

    mpiexec -n 2 python -m dda.selfcheck OUT.npz [--linear-solver mumps|cg] [--steps N]

Blocks: a fixed incline carrying a stack of three blocks (sliding, rotating, in contact);
rank 0 saves the centroid history and final vertices to OUT.npz.
"""

from __future__ import annotations

import argparse

import numpy as np

import learned


def build_system():
    """Two blocks on a 25° incline: the self-check problem."""
    import dda

    th = np.radians(25.0)
    L = 12.0
    base = np.array([[0.0, -1.0], [L * np.cos(th), -1.0], [L * np.cos(th), L * np.sin(th)], [0.0, 0.0]])
    d = np.array([np.cos(th), np.sin(th)])
    n = np.array([-np.sin(th), np.cos(th)])
    polys = [base]
    for k, (s0, w, h) in enumerate([(6.0, 1.2, 0.5), (6.1, 1.0, 0.5), (6.3, 0.5, 0.8)]):
        off = sum([0.5, 0.5, 0.8][:k])
        p0 = s0 * d + off * n
        polys.append(np.array([p0, p0 + w * d, p0 + w * d + h * n, p0 + h * n]))
    s = dda.BlockSystem(polys, fixed=[0], material=[0, 0, 1, 1])
    s.add_material(0, learned.LinearElastic(5e8, 0.25), 2600.0)
    s.add_material(1, learned.LinearElastic(2e8, 0.3), 2200.0)
    s.set_joint_law(learned.CoulombFriction(phi=15.0))
    return s


def run(nsteps: int = 30, linear_solver: str = "mumps", comm=None):
    """Run the self-check for ``nsteps`` steps with the given linear solver; (result, simulation)."""
    import dda

    s = build_system()
    sim = dda.Simulation(s, dda.Settings(duration=nsteps * 5e-3, dt=5e-3, linear_solver=linear_solver), comm=comm)
    return sim.solve(), sim


def main() -> None:
    """Command line: run the self-check and write its result as JSON to OUT."""
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--linear-solver", default="mumps")
    ap.add_argument("--steps", type=int, default=30)
    a = ap.parse_args()
    from mpi4py import MPI

    res, sim = run(a.steps, a.linear_solver)
    if MPI.COMM_WORLD.rank == 0:
        np.savez(a.out, centroid=np.asarray(res.centroid), xy=res.state.xy, time=np.asarray(res.time),
                 stress=res.state.stress, mpi_ranks=MPI.COMM_WORLD.size)


if __name__ == "__main__":
    main()
