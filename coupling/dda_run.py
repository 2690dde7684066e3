"""Run a DDA case: blocks (explicit and cut from domains), materials, joints, water.

Reports for the monitored block group (mass-weighted): onset (first speed above
``monitor.rest_velocity``), peak velocity and its time, horizontal run-out of its centroid,
time to rest (speed below ``monitor.rest_velocity`` for the rest of the run) and the
duration from onset to rest, run-up of its front on ``monitor.runup_line``, its section
area, and for joint laws with a band state (thermal pressurisation) the largest band
temperature rise and pore pressure; draws them in ``monitor.png``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

import dda
from coupling.case.common import build_joint_law, build_law
from coupling.case.dda import DdaCase
from coupling.case.loader import Case
from coupling.errors import SolverDivergence
from coupling.runner_context import RunContext


def _map_key(key: str, n_explicit: int, domain_of: list[int]) -> str:
    """dda key paths → case key paths (settings → dda; combined block index → blocks/domains)."""
    key = re.sub(r"^settings\.", "dda.", key)
    m = re.match(r"^blocks\[(\d+)\](.*)$", key)
    if m:
        k = int(m.group(1))
        if k >= n_explicit and k - n_explicit < len(domain_of):
            return f"domains[{domain_of[k - n_explicit]}]{m.group(2)} (block {k})"
    return key


class _Built:
    def __init__(self, system: dda.BlockSystem, names: dict[str, list[int]], areas: np.ndarray,
                 density: np.ndarray, n_explicit: int, domain_of: list[int], slivers: int) -> None:
        self.system, self.names, self.areas, self.density = system, names, areas, density
        self.n_explicit, self.domain_of, self.slivers = n_explicit, domain_of, slivers


def build_system(case: Case) -> _Built:
    spec: DdaCase = case.spec
    if not spec.blocks and not spec.domains:
        raise case.error("blocks", "no blocks and no domains", "at least one [[blocks]] or [[domains]]")
    mat_ids = {name: i for i, name in enumerate(spec.materials)}
    joint_tags = {name: i for i, name in enumerate(n for n in spec.joints if n != "default")}

    def tag(name: str, key: str) -> int:
        if name in ("", "default"):
            return -1
        if name not in joint_tags:
            raise case.error(key, f"found {name!r}", " | ".join(["default", *joint_tags]) or "'' (default)")
        return joint_tags[name]

    def material(name: str, key: str) -> int:
        if name not in mat_ids:
            raise case.error(key, f"found {name!r}", " | ".join(mat_ids) or "define [materials.NAME]")
        return mat_ids[name]

    polys, mats, fixed, tags, names = [], [], [], [], {}
    velocities = []
    for i, b in enumerate(spec.blocks):
        key = f"blocks[{i}]"
        polys.append(np.asarray(b.polygon, float))
        mats.append(material(b.material, f"{key}.material"))
        fixed.append(b.fixed)
        if b.edge_joints is not None and len(b.edge_joints) != len(b.polygon):
            raise case.error(f"{key}.edge_joints", f"{len(b.edge_joints)} names for {len(b.polygon)} edges", "one joint name per edge")
        tags.append([tag(n, f"{key}.edge_joints[{k}]") for k, n in enumerate(b.edge_joints or [""] * len(b.polygon))])
        velocities.append((len(polys) - 1, b.velocity))
        if b.name:
            names.setdefault(b.name, []).append(len(polys) - 1)
    n_explicit = len(polys)
    domain_of: list[int] = []
    slivers = 0
    for i, d in enumerate(spec.domains):
        key = f"domains[{i}]"
        lines = [dda.JointLine(j.start, j.end, tag(j.joint, f"{key}.joints[{k}].joint")) for k, j in enumerate(d.joints)]
        sets = [dda.JointSet(s.dip, s.spacing, s.trace_length, s.gap, s.origin, s.spacing_std, s.random_offset,
                             s.seed, tag(s.joint, f"{key}.joint_sets[{k}].joint")) for k, s in enumerate(d.joint_sets)]
        try:
            cut = dda.cut_blocks(np.asarray(d.polygon, float), lines, sets, d.min_area,
                                 boundary_tag=tag(d.boundary_joint, f"{key}.boundary_joint"), key=key)
        except dda.InputError as exc:
            where = exc.key_path if exc.key_path.startswith(key) else f"{key}.{exc.key_path}"
            raise case.error(where, f"found {exc.found}", exc.allowed)
        slivers += cut.slivers_removed
        m = material(d.material, f"{key}.material")
        for poly, t in zip(cut.polygons, cut.edge_tags):
            polys.append(poly)
            tags.append(list(t))
            mats.append(m)
            fixed.append(d.fixed)
            domain_of.append(i)
            if d.name:
                names.setdefault(d.name, []).append(len(polys) - 1)
    try:
        system = dda.BlockSystem(polys, material=mats, fixed=np.asarray(fixed, bool), edge_tags=tags, key="blocks")
        density = np.zeros(len(mat_ids))
        for name, i in mat_ids.items():
            mspec = spec.materials[name]
            if not mspec.density > 0:
                raise case.error(f"materials.{name}.density", f"found {mspec.density}", "a density > 0 kg/m^3 (blocks have mass)")
            density[i] = mspec.density
            system.add_material(i, build_law(case, mspec, f"materials.{name}"), mspec.density)
        for name, jspec in spec.joints.items():
            law = build_joint_law(case, jspec, f"joints.{name}")
            system.set_joint_law(law, None if name == "default" else joint_tags[name])
        for b, (vx, vy) in velocities:
            if vx or vy:
                system.set_velocity([b], vx, vy)
        if spec.water is not None:
            system.set_water(spec.water.level, spec.water.density)
        system.validate()
    except dda.InputError as exc:
        raise case.error(_map_key(exc.key_path, n_explicit, domain_of), f"found {exc.found}", exc.allowed)
    areas = np.array([_area(p) for p in system.polygons()])
    return _Built(system, names, areas, density[system.material_id], n_explicit, domain_of, slivers)


def _area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def monitored_group(case: Case, built: _Built) -> np.ndarray:
    spec: DdaCase = case.spec
    if not spec.monitor.blocks:
        return np.flatnonzero(~built.system.fixed)
    group: list[int] = []
    for k, name in enumerate(spec.monitor.blocks):
        if name not in built.names:
            raise case.error(f"monitor.blocks[{k}]", f"found {name!r}", " | ".join(built.names) or "name blocks or domains")
        group += built.names[name]
    return np.unique(np.asarray(group, dtype=np.int64))


def group_motion(result: dda.Result, group: np.ndarray, mass: np.ndarray, rest_velocity: float,
                 rest_window: float = 1.0) -> dict[str, Any]:
    """Mass-weighted velocity and centroid of a block group; peak, run-out, time to rest."""
    t = np.asarray(result.time)
    w = mass[group] / mass[group].sum()
    v = np.einsum("b,tbk->tk", w, np.asarray(result.velocity)[:, group, :2])
    c = np.einsum("b,tbk->tk", w, np.asarray(result.centroid)[:, group, :])
    speed = np.linalg.norm(v, axis=1)
    k_peak = int(np.argmax(speed))
    started = np.flatnonzero(speed >= rest_velocity)
    onset = float(t[started[0]]) if started.size else None
    # at rest: the centroid's mean speed over the next ``rest_window`` seconds stays below
    # rest_velocity for the rest of the run. The window keeps the elastic ringing of blocks
    # that have stopped (undamped contact springs: ~0.1-0.3 m/s about a fixed position) from
    # counting as motion; the instant a ringing amplitude decays through the threshold is
    # round-off-sensitive (issue 14: 35 s vs 46 s for the same stop).
    k_end = np.searchsorted(t, t + rest_window, side="left").clip(max=len(t) - 1)
    span = t[k_end] - t
    mean_speed = np.where(span > 0, np.linalg.norm(c[k_end] - c, axis=1) / np.where(span > 0, span, 1.0), speed)
    moving = np.flatnonzero(mean_speed[k_peak:] >= rest_velocity)
    at_rest = k_peak + (moving[-1] + 1 if moving.size else 0)
    rest_time = float(t[at_rest]) if at_rest < len(t) and t[-1] - t[at_rest] >= rest_window else None
    return {
        "time": t, "speed": speed, "centroid": c,
        "peak_velocity": float(speed[k_peak]), "time_of_peak": float(t[k_peak]),
        "runout": float(c[-1, 0] - c[0, 0]), "drop": float(c[0, 1] - c[-1, 1]),
        "max_runout": float(np.max(c[:, 0] - c[0, 0])),
        "time_to_rest": rest_time, "final_speed": float(speed[-1]), "onset_time": onset,
        "duration": (rest_time - onset) if (rest_time is not None and onset is not None) else None,
    }


class BandMonitor:
    """Mean state of the thermally pressurised band under the slide, over a run.

    L = length of the slide's base edges on the joints whose law has a pore-pressure state
    (learned.ThermalPressurisationFriction), at the start [m]. Per step:

    * temperature rise ΔT̄ = W / (ρc h L): the frictional work W [J/m] done so far on those
      contacts (Σ F_f |Δs| over sliding contacts) spread over the band under the slide;
    * pore pressure p̄ = r̄ · Σ N / L: the contact-length-weighted mean ratio r = p/σ'n times
      the mean normal stress on the band.

    Per-contact values are not reported: DDA's contact "stress" N/l_c is no band stress where
    a vertex overlaps an edge by a sliver or touches at a point (l_c → 0), and such contacts
    carry absurd local values (thousands of K) that say nothing about the band.
    Reported: the largest ΔT̄ and p̄ over the run."""

    def __init__(self, sim: dda.Simulation) -> None:
        self.sim = sim
        sy = sim.system
        self.laws = {t: law for t, law in sy.joint_laws.items() if hasattr(law, "pore_pressure")}
        self.time: list[float] = [0.0]
        self.temperature: list[float] = [0.0]
        self.pressure: list[float] = [0.0]
        self.work = 0.0
        self._slip: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.int64), np.zeros(0))
        if self.laws:
            xy, nxt = sy.polys.xy, sy.polys.nxt
            edge_free = ~sy.fixed[sy.polys.block]
            on_band = np.isin(sy.edge_tag, list(self.laws)) & edge_free
            self.length = float(np.linalg.norm(xy[nxt] - xy, axis=1)[on_band].sum())
            law = next(iter(self.laws.values()))
            self.heat_per_kelvin = law.heat_capacity * law.band_thickness * max(self.length, 1e-300)

    def __bool__(self) -> bool:
        return bool(self.laws) and self.length > 0

    def record(self) -> None:
        st, con = self.sim.state, getattr(self.sim, "last_contacts", None)
        p = 0.0
        cs = st.contacts
        if con is not None and con.size and cs.size == con.size:
            m = np.isin(con.tag, list(self.laws))
            # frictional work since the last record: |F_f| × the slip increment, matched by key
            key, slip = self._slip
            pos = np.clip(np.searchsorted(key, cs.key), 0, max(key.size - 1, 0))
            prev = np.where((key.size > 0) & (key[pos] == cs.key) if key.size else np.zeros(cs.size, bool), slip[pos] if key.size else 0.0, cs.slip)
            sliding = m & (cs.state == dda.contact_law.SLIDING)
            self.work += float(np.sum(np.abs(cs.shear_force[sliding]) * np.maximum(cs.slip[sliding] - prev[sliding], 0.0)))
            order = np.argsort(cs.key)
            self._slip = (cs.key[order], cs.slip[order])
            w = m & (con.lc > 0)
            if np.any(w):
                r = float(np.dot(con.lc[w], cs.law_state[w, 1]) / con.lc[w].sum())
                p = r * float(np.maximum(cs.normal_force[m], 0.0).sum()) / self.length
        self.time.append(st.time)
        self.temperature.append(max(self.work / self.heat_per_kelvin, self.temperature[-1]))
        self.pressure.append(max(p, self.pressure[-1]))


def plot_monitor(path, motion: dict, rest_velocity: float, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = motion["time"]
    band = motion.get("band")
    fig, axes = plt.subplots(3 if band else 2, 1, figsize=(8, 8.5 if band else 6), dpi=120, sharex=True)
    a1, a2 = axes[0], axes[1]
    a1.plot(t, motion["speed"], color="C0")
    a1.axhline(rest_velocity, color="0.6", lw=0.8, ls="--", label=f"rest ({rest_velocity} m/s)")
    a1.plot([motion["time_of_peak"]], [motion["peak_velocity"]], "o", color="C3",
            label=f"peak {motion['peak_velocity']:.1f} m/s at {motion['time_of_peak']:.1f} s")
    if motion.get("onset_time") is not None:
        a1.axvline(motion["onset_time"], color="C4", lw=1, ls=":", label=f"onset {motion['onset_time']:.1f} s")
    if motion["time_to_rest"] is not None:
        a1.axvline(motion["time_to_rest"], color="C2", lw=1, label=f"at rest {motion['time_to_rest']:.1f} s")
    a1.set_ylabel("speed of the mass centroid [m/s]")
    a1.legend(loc="upper right", fontsize=8)
    x = motion["centroid"][:, 0] - motion["centroid"][0, 0]
    a2.plot(t, x, color="C1")
    a2.set_ylabel("horizontal run-out [m]")
    a2.annotate(f"{motion['runout']:.0f} m" + (f", run-up {motion['runup']:.0f} m" if "runup" in motion else ""),
                (t[-1], x[-1]), ha="right", va="bottom")
    if band:
        a3 = axes[2]
        a3.plot(band.time, band.temperature, color="C3")
        a3.set_ylabel("band mean ΔT [K]", color="C3")
        b3 = a3.twinx()
        b3.plot(band.time, np.asarray(band.pressure) / 1e6, color="C0")
        b3.set_ylabel("band mean pore pressure [MPa]", color="C0")
    axes[-1].set_xlabel("time [s]")
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def run_dda_case(case: Case, ctx: RunContext) -> dict[str, Any]:
    spec: DdaCase = case.spec
    built = build_system(case)
    group = monitored_group(case, built)
    out_dir = ctx.rundir.path if (ctx.rundir is not None and spec.output.fields) else None
    settings = dda.Settings(**spec.dda.model_dump(), gravity=tuple(spec.gravity), output_dir=out_dir,
                            monitor_blocks=list(group))
    try:
        settings.validate()
        sim = dda.Simulation(built.system, settings, comm=ctx.comm)
    except dda.InputError as exc:
        raise case.error(_map_key(exc.key_path, built.n_explicit, built.domain_of), f"found {exc.found}", exc.allowed)
    mass = built.density * built.areas
    band = BandMonitor(sim)
    with ctx.progress(total=spec.dda.duration, description=f"{case.name}: DDA") as bar:
        def report(info) -> None:
            if band:
                band.record()
            bar.update(info.time, f"{case.name}: t={info.time:.2f}s dt={info.dt:.1e} contacts={info.n_contacts} "
                                  f"vmax={info.max_velocity:.2f}m/s")

        try:
            result = sim.run(callback=report)
        except dda.SolverDivergence as exc:
            if exc.result is not None:
                ctx.extra["partial"] = _payload(case, ctx, built, group, mass, exc.result, settings, band)
            raise SolverDivergence(str(exc)) from None
    return _payload(case, ctx, built, group, mass, result, settings, band)


def _payload(case: Case, ctx: RunContext, built: _Built, group, mass, result, settings, band=None) -> dict[str, Any]:
    spec: DdaCase = case.spec
    motion = group_motion(result, group, mass, spec.monitor.rest_velocity, spec.monitor.rest_window)
    final = result.polygons() if result.state is not None else built.system.polygons()
    front = max(float(final[b][:, 0].max()) for b in group)
    results = {
        "monitored_blocks": [int(b) for b in group],
        "slide_area_m2": float(built.areas[group].sum()),
        "peak_velocity": motion["peak_velocity"], "time_of_peak": motion["time_of_peak"],
        "runout": motion["runout"], "max_runout": motion["max_runout"], "drop": motion["drop"],
        "time_to_rest": motion["time_to_rest"], "final_velocity": motion["final_speed"],
        "front_x_final": front, "blocks": built.system.nb, "slivers_removed": built.slivers,
        "simulated_time": float(np.asarray(result.time)[-1]),
        "onset_time": motion["onset_time"], "duration": motion["duration"],
    }
    if spec.monitor.runup_line:
        line = np.asarray(spec.monitor.runup_line, dtype=float)
        results["runup"] = float(np.interp(front, line[:, 0], line[:, 1]) - line[0, 1]) if front > line[0, 0] else 0.0
    if band:
        results["band_temperature_rise_max"] = band.temperature[-1]
        results["band_pore_pressure_max"] = band.pressure[-1]
        motion["band"] = band
    files: list[str] = []
    if ctx.rundir is not None and spec.output.fields:
        files += ["blocks.pvd", "contacts.pvd", "frames/", "history.h5"]
    if "runup" in results:
        motion["runup"] = results["runup"]
    if ctx.rundir is not None and spec.output.plots and ctx.is_root:
        plot_monitor(ctx.rundir.file("monitor.png"), motion, spec.monitor.rest_velocity, spec.title)
        files.append("monitor.png")
    solver = {"kind": "dda", **{k: v for k, v in result.stats.items()}, "settings": spec.dda.model_dump()}
    return {"results": results, "solver": solver, "files": files}
