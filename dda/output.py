"""DDA output for ParaView and post-processing; every file is written atomically by rank 0.

* ``frames/blocks_NNNNN.vtu``  block polygons (VTK polygon cells) with cell fields
  displacement [m] and velocity (u̇, v̇, 0) [m/s] of the centroid (3-vectors, z = 0),
  rotation_rate ṙ [rad/s], rotation [rad], stress (σxx, σyy, τxy) [Pa], strain, fixed,
  material, contact force resultant on the block [N/m]; ``blocks.pvd`` indexes the series;
* ``frames/contacts_NNNNN.vtu`` one vertex cell per contact at the contact vertex with the force
  on the vertex block (normal + shear) [N/m], normal force, state (0 open, 1 sliding,
  2 locked); ``contacts.pvd`` (frames without any contact have no contacts file);
* ``history.h5``  /time, /dt, /centroid, /displacement, /velocity, /rotation,
  /kinetic_energy, /contacts/{open,sliding,locked}, /oc_iterations; /state (the last good
  state: xy, voff, velocity, strain, stress, rotation) and stats as attributes;
* ``velocity.png`` (speed of the mass centre of a block group against time), ``snapshots.png``
  (block positions at the first, a middle and the last frame, water level drawn).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np


if TYPE_CHECKING:  # pragma: no cover
    from dda.result import Result
    from dda.simulation import Simulation


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def write_blocks_vtu(path: Path, xy: np.ndarray, voff: np.ndarray, cell_data: dict[str, np.ndarray]) -> None:
    """Block polygons as VTK polygon cells, grouped by vertex count; cell_data (nb, …)."""
    import meshio

    counts = np.diff(voff)
    pts = np.hstack([xy, np.zeros((xy.shape[0], 1))])
    cells, order = [], []
    for k in np.unique(counts):
        b = np.flatnonzero(counts == k)
        cells.append(("polygon", voff[b][:, None] + np.arange(k)[None, :]))
        order.append(b)
    data = {}
    for name, arr in cell_data.items():
        a = np.asarray(arr, dtype=float)
        if a.ndim == 2 and a.shape[1] == 2:  # vectors in 3D for ParaView glyphs
            a = np.hstack([a, np.zeros((a.shape[0], 1))])
        data[name] = [a[b] for b in order]
    tmp = _tmp(path)
    meshio.write(str(tmp), meshio.Mesh(pts, cells, cell_data=data), file_format="vtu")
    os.replace(tmp, path)


def write_points_vtu(path: Path, pts: np.ndarray, point_data: dict[str, np.ndarray]) -> None:
    """Points as vertex cells with point data (vectors padded to 3D)."""
    import meshio

    p = np.hstack([pts, np.zeros((pts.shape[0], 1))]) if pts.size else np.zeros((0, 3))
    data = {}
    for name, arr in point_data.items():
        a = np.asarray(arr, dtype=float)
        if a.ndim == 2 and a.shape[1] == 2:
            a = np.hstack([a, np.zeros((a.shape[0], 1))])
        data[name] = a
    cells = [("vertex", np.arange(p.shape[0])[:, None])] if p.shape[0] else [("vertex", np.zeros((0, 1), dtype=int))]
    tmp = _tmp(path)
    meshio.write(str(tmp), meshio.Mesh(p, cells, point_data=data), file_format="vtu")
    os.replace(tmp, path)


def write_pvd(path: Path, entries: Sequence[tuple[float, str]]) -> None:
    """ParaView collection file indexing a time series."""
    lines = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="0.1">', "  <Collection>"]
    lines += [f'    <DataSet timestep="{t:.9g}" part="0" file="{f}"/>' for t, f in entries]
    lines += ["  </Collection>", "</VTKFile>", ""]
    tmp = _tmp(path)
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)


def write_history_h5(path: Path, result: "Result", state: Any = None, attrs: dict | None = None) -> None:
    """history.h5 with the run histories, the last good state and the solver statistics.

    Per accepted step (n_steps rows; every ``dda.history_every``-th): ``time``, ``dt`` [s],
    ``centroid`` (n_steps, n_blocks, 2) [m], ``displacement`` of the centroids from t = 0
    (n_steps, n_blocks, 2) [m], ``velocity`` (n_steps, n_blocks, 3) (du/dt, dv/dt [m/s],
    dr/dt [rad/s]), ``rotation`` (n_steps, n_blocks) [rad], ``kinetic_energy`` [J/m],
    ``oc_iterations``, ``contacts/open|sliding|locked`` (counts); ``fixed`` (n_blocks,);
    group ``state``: the last good state. Each dataset with a unit names it in ``attrs["units"]``."""
    import h5py

    tmp = _tmp(path)
    with h5py.File(tmp, "w") as f:
        c = np.asarray(result.centroid)
        f["time"] = np.asarray(result.time)
        f["dt"] = np.asarray(result.dt)
        f["centroid"] = c
        f["displacement"] = c - c[0]
        f["velocity"] = np.asarray(result.velocity)
        f["rotation"] = np.asarray(result.rotation)
        f["kinetic_energy"] = np.asarray(result.kinetic_energy)
        f["oc_iterations"] = np.asarray(result.oc_iterations)
        g = f.create_group("contacts")
        g["open"], g["sliding"], g["locked"] = (np.asarray(result.n_open), np.asarray(result.n_sliding), np.asarray(result.n_locked))
        f["fixed"] = np.asarray(result.fixed, dtype=np.int8)
        f["time"].attrs["units"] = "s"
        f["dt"].attrs["units"] = "s"
        f["centroid"].attrs["units"] = "m"
        f["displacement"].attrs["units"] = "m"  # of each block's centroid from t = 0
        f["rotation"].attrs["units"] = "rad"
        f["velocity"].attrs["components"] = "du/dt [m/s], dv/dt [m/s], dr/dt [rad/s]"
        f["velocity"].attrs["units"] = "m/s, m/s, rad/s"  # per component (it had only "components")
        f["kinetic_energy"].attrs["units"] = "J/m"
        if state is not None:
            s = f.create_group("state")
            s["xy"], s["voff"] = state.xy, result.voff
            s["velocity"], s["strain"], s["stress"], s["rotation"] = state.velocity, state.strain, state.stress, state.rotation
            s.attrs["time"], s.attrs["step"] = state.time, state.step
        for k, v in (attrs or {}).items():
            f.attrs[k] = v if isinstance(v, (int, float, str, np.number)) else json.dumps(v, default=float)
    os.replace(tmp, path)


def mass_centre_speed(velocity: np.ndarray, mass: np.ndarray, blocks: Sequence[int] | None = None,
                      fixed: np.ndarray | None = None) -> np.ndarray:
    """Speed of the mass centre of a block group, |Σ m_b v_b| / Σ m_b (ns,) [m/s].

    velocity (ns, nb, ≥2) [m/s], mass (nb,) [kg/m]; blocks default to the free ones. The one
    definition of a group's speed in every plot and summary (peak_velocity)."""
    v = np.asarray(velocity)
    b = (np.flatnonzero(~np.asarray(fixed, bool)) if fixed is not None else np.arange(v.shape[1])) if blocks is None \
        else np.asarray(blocks)
    w = np.asarray(mass, float)[b] / np.asarray(mass, float)[b].sum()
    return np.linalg.norm(np.einsum("b,tbk->tk", w, v[:, b, :2]), axis=1)


def plot_velocity(path: Path, result: "Result", blocks: Sequence[int] | None = None, title: str = "",
                  mass: np.ndarray | None = None) -> None:
    """Speed of the mass centre of a block group against time (PNG, Agg); unit masses if None."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.asarray(result.time)
    v = np.asarray(result.velocity)
    speed = mass_centre_speed(v, np.ones(v.shape[1]) if mass is None else mass, blocks, np.asarray(result.fixed))
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    ax.plot(t, speed, lw=1.5)
    k = int(np.argmax(speed))
    ax.plot([t[k]], [speed[k]], "o", color="C3", label=f"peak {speed[k]:.3g} m/s at {t[k]:.3g} s")
    ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("time [s]")
    ax.set_ylabel("speed of the mass centre [m/s]")
    ax.set_title(title or "block group velocity")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = _tmp(path)
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def plot_snapshots(path: Path, frames: Sequence[tuple[float, np.ndarray]], voff: np.ndarray, fixed: np.ndarray,
                   title: str = "", water_level=None, water_density: float | None = None) -> None:
    """Block geometry at a few times side by side (PNG, Agg); frames = [(t, xy), …].

    Axes in metres; fixed blocks grey, free blocks orange; ``water_level(t)`` [m] (a callable,
    e.g. :class:`dda.water.WaterLevel`) draws the reservoir as a blue band up to its level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    n = len(frames)
    allxy = np.concatenate([xy for _, xy in frames])
    lo, hi = allxy.min(0), allxy.max(0)
    pad = 0.03 * (hi - lo).max()
    lo, hi = lo - pad, hi + pad
    aspect = (hi[1] - lo[1]) / max(hi[0] - lo[0], 1e-300)
    width = 4.5 if n > 1 else 7.0
    fig, axes = plt.subplots(1, n, figsize=(width * n, max(2.5, width * aspect) + 1.0), dpi=110, squeeze=False,
                             sharey=True)
    colors = ["0.6" if f else "tab:orange" for f in fixed]
    for k, (ax, (t, xy)) in enumerate(zip(axes[0], frames)):
        if water_level is not None:
            h = float(water_level(t))
            if h > lo[1]:
                ax.fill_between([lo[0], hi[0]], lo[1], h, color="tab:blue", alpha=0.15, lw=0, zorder=0)
                ax.axhline(h, color="tab:blue", lw=1.0, zorder=1,
                           label=f"water level {h:.4g} m" + (f" (ρw {water_density:g} kg/m³)" if water_density else ""))
                ax.legend(loc="upper right", fontsize=7)
        polys = [xy[voff[b] : voff[b + 1]] for b in range(voff.size - 1)]
        ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors="k", linewidths=0.4, zorder=2))
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.set_title(f"t = {t:.3f} s")
        ax.set_xlabel("x [m]")
        if k == 0:
            ax.set_ylabel("y [m]")
    fig.suptitle((title + ": " if title else "") + "block positions (grey fixed, orange free)")
    fig.tight_layout()
    tmp = _tmp(path)
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)


class Writer:
    """Writes frames during a run and the histories/plots at its end (rank 0 only)."""

    def __init__(self, out_dir: str | Path, sim: "Simulation", comm: Any = None) -> None:
        self.dir = Path(out_dir)
        self.rank = 0 if comm is None else comm.rank
        s = sim.settings
        self.interval = s.output_interval or s.duration / 50.0
        self.next_time = 0.0
        self.frames: list[tuple[float, str, str | None]] = []
        self.snap: list[tuple[float, np.ndarray]] = []
        self.last_written_step = -1
        self.plots = True  # velocity.png and snapshots.png at finish (a caller drawing its own sets False)
        if self.rank == 0:
            (self.dir / "frames").mkdir(parents=True, exist_ok=True)

    def maybe_frame(self, sim: "Simulation") -> None:
        """Write a frame when the next output time is reached."""
        if sim.state.time >= self.next_time - 1e-12 * max(1.0, sim.settings.duration):
            self.frame(sim)

    def frame(self, sim: "Simulation", force: bool = False) -> None:
        """Write the current blocks and contacts as one VTU frame (rank 0), once per step.
        Collective: the state is gathered from the ranks (:meth:`Simulation.global_state`)."""
        if sim.state.step == self.last_written_step:
            return
        st = sim.global_state()
        con = sim.global_last_contacts()
        self.last_written_step = st.step
        while self.next_time <= st.time + 1e-12:
            self.next_time += self.interval
        if not self.snap or (len(self.snap) == 1 and st.time >= 0.5 * sim.settings.duration):
            self.snap.append((st.time, st.xy.copy()))
        self.snap_last = (st.time, st.xy.copy())
        if self.rank != 0:
            return
        k = len(self.frames)
        props = sim.polygons(st).props()
        bf = np.zeros((sim.nb, 2))
        cs = st.contacts
        cpts, cf, cn, cstate = np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0), np.zeros(0)
        if con is not None and con.size == cs.size and cs.size:
            f = cs.normal_force[:, None] * con.n + cs.shear_force[:, None] * con.s
            np.add.at(bf, con.i, f)
            np.add.at(bf, con.j, -f)
            cpts, cf, cn, cstate = con.P, f, cs.normal_force, cs.state.astype(float)
        # frames in a subfolder; the .pvd indexes at the top refer to them relatively
        bname, cname = f"frames/blocks_{k:05d}.vtu", f"frames/contacts_{k:05d}.vtu"
        write_blocks_vtu(
            self.dir / bname, st.xy, sim.voff,
            {
                "displacement": props.centroid - st.centroid0,
                "velocity": st.velocity[:, :2],  # padded to (u̇, v̇, 0): a vector ParaView can glyph
                "rotation_rate": st.velocity[:, 2],
                "stress": st.stress,
                "strain": st.strain,
                "rotation": st.rotation,
                "contact_force": bf,
                "fixed": sim.system.fixed.astype(float),
                "material": sim.system.material_id.astype(float),
                "block_id": np.arange(sim.nb, dtype=float),
            },
        )
        if len(cpts):  # a frame without contacts has no contacts file (an empty VTU is unreadable by meshio)
            write_points_vtu(self.dir / cname, cpts, {"force": cf, "normal_force": cn, "state": cstate})
        else:
            cname = None
        self.frames.append((st.time, bname, cname))
        write_pvd(self.dir / "blocks.pvd", [(t, b) for t, b, _ in self.frames])
        write_pvd(self.dir / "contacts.pvd", [(t, c) for t, _, c in self.frames if c is not None])

    def finish(self, sim: "Simulation", status: str, message: str = "") -> None:
        """Write the .pvd collections and history.h5 with the run status and statistics (rank 0)."""
        if self.rank != 0:
            return
        res = sim.result
        if not isinstance(res.time, np.ndarray):
            res.finalize(sim, status)
        attrs = {"status": status, "message": message, "stats": {k: v for k, v in sim.stats.items()}}
        write_history_h5(self.dir / "history.h5", res, res.state, attrs)
        if not self.plots:
            return
        mon = sim.settings.monitor_blocks
        mass = sim.polygons(res.state).props().area * np.asarray(sim.density, float)
        plot_velocity(self.dir / "velocity.png", res, None if mon is None else list(mon), title=f"DDA ({status})",
                      mass=mass)
        plot_snapshots(self.dir / "snapshots.png", self.snapshots(), sim.voff, sim.system.fixed,
                       water_level=sim.system.water, water_density=getattr(sim.system.water, "density", None))

    def snapshots(self) -> list[tuple[float, np.ndarray]]:
        """(t, xy) of the first, a middle and the last frame written."""
        snaps = list(self.snap)
        if getattr(self, "snap_last", None) is not None and self.snap_last[0] > snaps[-1][0]:
            snaps.append(self.snap_last)
        return snaps
