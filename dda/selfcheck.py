"""A short multi-block run used to compare MPI runs with the serial one.

    mpiexec -n 2 python -m dda.selfcheck OUT.npz [--linear-solver mumps|cg] [--steps N] [--problem stack|grid|settle]
                                                 [--distribute-min-free-blocks N]

``stack``: a fixed incline carrying a stack of three blocks (sliding, rotating, in contact).
``grid``: a jointed 8 × 8 grid of 0.1 m blocks launched down a 30° incline at 1.5 m/s (φ = 10°):
64 blocks, ~340 contacts; its ghost margin is set to 2 mm, so the spatial partition is
rebuilt every few steps as the grid moves.
``settle``: a 10 × 10 stack of 1 m blocks (E = 10 GPa, φ = 30°, p_n = 5e11 N/m, Δt = 1 ms)
released on a fixed base (benchmarks/dda_vs_ntdda.py's grid10): it settles, and contacts
open, close, slide and lock in every step (3-5 open–close iterations per step).
``--distribute-min-free-blocks`` sets dda.Settings.distribute_min_free_blocks (0: the blocks
are distributed over the ranks at any size; default: the settings' default, under which these
small problems run replicated, every rank computing the whole step).
Rank 0 saves the centroid history, final vertices and stresses, the contact keys of the last
step, whether the run was distributed, the largest difference between the final vertices and
centroid histories the ranks hold, and per rank the owned, ghost and contact counts to OUT.npz.
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


def build_grid(n: int = 8, size: float = 0.1, theta_deg: float = 30.0, speed: float = 1.5):
    """A jointed n × n grid of square blocks (side ``size`` [m]) on a fixed incline of
    ``theta_deg``, launched down the slope at ``speed`` [m/s]; joints φ = 10°, so it speeds up."""
    import dda

    th = np.radians(theta_deg)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    L = (n + 20) * size
    polys = [np.array([[-L, -size], [L, -size], [L, 0.0], [-L, 0.0]]) @ R.T]
    for j in range(n):
        for i in range(n):
            sq = size * np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float)
            polys.append(sq @ R.T)
    s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(phi=10.0))
    s.set_velocity(list(range(1, n * n + 1)), vx=-speed * np.cos(th), vy=-speed * np.sin(th))
    return s


def build_settle(n: int = 10):
    """An n × n stack of unit square blocks on a fixed base, released at rest."""
    import dda

    polys = [np.array([[-1, -1], [n + 1, -1], [n + 1, 0], [-1, 0]], float)]
    for j in range(n):
        for i in range(n):
            polys.append(np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float))
    s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
    s.add_material(0, learned.LinearElastic(10e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(phi=30.0))
    return s


def run(nsteps: int = 30, linear_solver: str = "mumps", comm=None, problem: str = "stack",
        distribute_min_free_blocks: int | None = None):
    """Run the self-check for ``nsteps`` steps with the given linear solver (and
    ``distribute_min_free_blocks``, None: the default); (result, simulation)."""
    import dda

    extra = {} if distribute_min_free_blocks is None else {"distribute_min_free_blocks": int(distribute_min_free_blocks)}

    if problem == "settle":
        w0 = 6.0  # (n + 2) / 2 [m]
        sim = dda.Simulation(build_settle(), dda.Settings(duration=nsteps * 1e-3, dt=1e-3, length_scale=w0,
                                                          max_displacement_ratio=0.04 / w0, penalty=5e11,
                                                          linear_solver=linear_solver, **extra), comm=comm)
    elif problem == "grid":
        sim = dda.Simulation(build_grid(), dda.Settings(duration=nsteps * 5e-3, dt=5e-3, linear_solver=linear_solver,
                                                        **extra), comm=comm)
        sim.margin = 0.002  # [m] ghost margin: the partition is rebuilt whenever a vertex moved 2 mm
    else:
        sim = dda.Simulation(build_system(), dda.Settings(duration=nsteps * 5e-3, dt=5e-3, linear_solver=linear_solver,
                                                          **extra), comm=comm)
    return sim.solve(), sim


def main() -> None:
    """Command line: run the self-check and write its result as JSON to OUT."""
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--linear-solver", default="mumps")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--problem", default="stack", choices=("stack", "grid", "settle"))
    ap.add_argument("--distribute-min-free-blocks", type=int, default=None)
    a = ap.parse_args()
    from mpi4py import MPI

    res, sim = run(a.steps, a.linear_solver, problem=a.problem, distribute_min_free_blocks=a.distribute_min_free_blocks)
    last = sim.global_last_contacts()
    P = sim.part
    per_rank = MPI.COMM_WORLD.allgather((int(P.own_idx.size), int(P.n_ghost), int(sim.state.contacts.size)))
    # the final vertices and centroid history every rank's result holds, against rank 0's
    held = MPI.COMM_WORLD.allgather((res.state.xy, np.asarray(res.centroid)))
    ranks_differ = max(max(float(np.abs(x - held[0][0]).max()), float(np.abs(c - held[0][1]).max())) for x, c in held)
    if MPI.COMM_WORLD.rank == 0:
        np.savez(a.out, centroid=np.asarray(res.centroid), xy=res.state.xy, time=np.asarray(res.time),
                 stress=res.state.stress, mpi_ranks=MPI.COMM_WORLD.size, contact_keys=last.key,
                 n_contacts=np.asarray(res.n_open) + np.asarray(res.n_sliding) + np.asarray(res.n_locked),
                 per_rank=np.array(per_rank), repartitions=sim.stats["repartitions"], distributed=sim.distributed, ranks_differ=ranks_differ,
                 velocity=np.asarray(res.velocity), kinetic_energy=np.asarray(res.kinetic_energy),
                 oc_iterations=np.asarray(res.oc_iterations), n_open=np.asarray(res.n_open),
                 n_sliding=np.asarray(res.n_sliding), dt=np.asarray(res.dt), solves=sim.stats["solves"])


if __name__ == "__main__":
    main()
