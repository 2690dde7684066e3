"""FEM result files: a VTU/PVD field series (ParaView, meshio, VTK) and a PNG of the deformed shape."""

from __future__ import annotations

from pathlib import Path

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem

from coupling.fem.problem import ContinuumProblem
from coupling.output.fields_vtu import FieldSeries, fem_grid, stress_cell_data


def _p1_displacement(problem: ContinuumProblem) -> fem.Function:
    if problem.degree == 1:
        return problem.u
    V1 = fem.functionspace(problem.mesh, ("Lagrange", 1, (2,)))
    u1 = fem.Function(V1, name="displacement")
    u1.interpolate(problem.u)
    return u1


def write_fields(problem: ContinuumProblem, series: FieldSeries, t: float, stress: np.ndarray,
                 vm: np.ndarray, szz: np.ndarray | None = None) -> None:
    """One output step of ``series`` (collective): displacement at the P_k nodes, named stress
    components of the owned cells (stress (n,3), vm (n,), szz (n,) [Pa]); see
    :mod:`coupling.output.fields_vtu`."""
    grid = fem_grid(problem.V, problem.u.x.array, stress_cell_data(stress, vm, szz), problem.comm)
    series.add(t, grid)


def plot_deformed(problem: ContinuumProblem, vm: np.ndarray, path: Path, title: str,
                  scale: float | None = None) -> float:
    """Deformed mesh coloured by von Mises stress ``vm`` (n_owned_cells,) [Pa] (rank 0 writes);
    returns the scale used."""
    mesh, comm = problem.mesh, problem.mesh.comm
    u1 = _p1_displacement(problem)
    V1 = u1.function_space
    n_own = mesh.topology.index_map(2).size_local
    tri = V1.dofmap.list[:n_own]
    xy = V1.tabulate_dof_coordinates()[:, :2][tri]  # (n, 3, 2)
    uv = u1.x.array.reshape(-1, 2)[tri]
    vals = np.asarray(vm, dtype=float)[:n_own]
    gathered = comm.gather((xy, uv, vals), root=0)
    if comm.rank != 0:
        return comm.bcast(None, root=0)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    xy = np.concatenate([g[0] for g in gathered])
    uv = np.concatenate([g[1] for g in gathered])
    vals = np.concatenate([g[2] for g in gathered])
    extent = np.ptp(xy.reshape(-1, 2), axis=0).max()
    umax = np.abs(uv).max()
    if scale is None:
        scale = 0.1 * extent / umax if umax > 0 else 1.0
    span = np.ptp(xy.reshape(-1, 2), axis=0)
    aspect = span[0] / max(span[1], 1e-300)
    size = (9.0, max(3.0, 9.0 / aspect * 0.8 + 1.2)) if aspect >= 1 else (max(4.0, 6.0 * aspect + 2.5), 6.0)
    fig, ax = plt.subplots(figsize=size, dpi=120)
    ax.add_collection(PolyCollection(xy, facecolors="none", edgecolors="0.8", linewidths=0.3))
    polys = PolyCollection(xy + scale * uv, array=vals / 1e6, cmap="viridis", edgecolors="face", linewidths=0.1)
    ax.add_collection(polys)
    fig.colorbar(polys, ax=ax, label="von Mises stress [MPa]")
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(f"{title}\ndeformed shape ×{scale:.3g} (grey: undeformed)")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return comm.bcast(scale, root=0)
