"""FEM result files: a VTU/PVD field series (ParaView, meshio, VTK) and a PNG of the deformed shape."""

from __future__ import annotations

from pathlib import Path

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem

from coupling.solvers.fem.problem import ContinuumProblem
from coupling.output.fields_vtu import FieldSeries, fem_grid, stress_cell_data
from coupling.output.plots import MPA, colour_range, peak_note, zoom_window


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
                  scale: float | None = None, exclude=(), reported_max: float | None = None) -> float:
    """Deformed mesh coloured by von Mises stress ``vm`` (n_owned_cells,) [Pa] (rank 0 writes);
    returns the scale used. ``exclude`` (the case's ``output.stress_maxima_exclude`` discs: objects
    with ``center`` [m] and ``radius`` [m]) are drawn as dotted circles (undeformed) and the title
    gives ``reported_max`` [Pa], the summary's ``max_von_mises`` over the cells outside them, beside
    the largest cell value."""
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
    vals_mpa = vals * MPA
    centres = xy.mean(axis=1)
    vmin, vmax, clipped = colour_range(vals_mpa)
    zoom = zoom_window(vals_mpa, centres, extent)
    size = (9.0, max(3.0, 9.0 / aspect * 0.8 + 1.2)) if aspect >= 1 else (max(4.0, 6.0 * aspect + 2.5), 6.0)
    if zoom is not None:
        size = (size[0] + 5.0, max(size[1], 5.0))
    fig, axes = plt.subplots(1, 2 if zoom is not None else 1, figsize=size, dpi=120, squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": [1, 1] if zoom is not None else [1]})
    lo, hi = xy.reshape(-1, 2).min(axis=0), xy.reshape(-1, 2).max(axis=0)
    for k, ax in enumerate(axes[0]):
        if k == 0:
            ax.add_collection(PolyCollection(xy, facecolors="none", edgecolors="0.8", linewidths=0.3))
        shown = xy + scale * uv if k == 0 else xy  # the zoom shows the undeformed cells
        polys = PolyCollection(shown, array=vals_mpa, cmap="viridis", edgecolors="face" if k == 0 else "0.85",
                               linewidths=0.1 if k == 0 else 0.2)
        polys.set_clim(vmin, vmax)
        ax.add_collection(polys)
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_xlabel("x [m]")
        ax.set_ylabel("y [m]")
        if k == 1:  # zoom on the localised peak
            (cx, cy), half = zoom
            x0, x1 = max(cx - half, lo[0]), min(cx + half, hi[0])
            y0, y1 = max(cy - half, lo[1]), min(cy + half, hi[1])
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_title("zoom on the peak (undeformed cells, the red box on the left)", fontsize=9)
            axes[0][0].add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="C3", lw=1.0))
    fig.colorbar(polys, ax=list(axes[0]), label="von Mises stress [MPa]", extend="max" if clipped else "neither")
    outside = ""
    for ax in axes[0]:
        for d in exclude:
            ax.add_patch(plt.Circle(tuple(d.center), d.radius, fill=False, ls=":", lw=1.0, color="C3"))
    if exclude and reported_max is not None:
        outside = (f"\noutside the excluded disc{'s' if len(exclude) > 1 else ''} (red dotted, undeformed): "
                   f"{reported_max * MPA:.4g} MPa (summary max_von_mises)")
    heading = (f"{title}\ndeformed shape ×{scale:.3g} (grey: undeformed)\n"
               f"{peak_note(vals_mpa, centres, clipped=clipped)}{outside}")
    if zoom is not None:  # over both panels: above the narrow left one alone it ran off the figure
        fig.suptitle(heading, fontsize=9)
    else:
        axes[0][0].set_title(heading, fontsize=9)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return comm.bcast(scale, root=0)
