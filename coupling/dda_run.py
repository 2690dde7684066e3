"""Run a DDA case: blocks (explicit and cut from domains), materials, joints, water.

Reports for the monitored block group (mass-weighted): peak velocity, horizontal run-out of
its centroid, time to rest (speed below ``monitor.rest_velocity`` for the rest of the run),
its section area, and draws them in ``monitor.png``.
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


def group_motion(result: dda.Result, group: np.ndarray, mass: np.ndarray, rest_velocity: float) -> dict[str, Any]:
    """Mass-weighted velocity and centroid of a block group; peak, run-out, time to rest."""
    t = np.asarray(result.time)
    from dda.output import mass_centre_speed

    w = mass[group] / mass[group].sum()
    c = np.einsum("b,tbk->tk", w, np.asarray(result.centroid)[:, group, :])
    speed = mass_centre_speed(result.velocity, mass, group)  # the one definition (velocity.png too)
    k_peak = int(np.argmax(speed))
    moving = np.flatnonzero(speed[k_peak:] >= rest_velocity)
    at_rest = k_peak + (moving[-1] + 1 if moving.size else 0)
    rest_time = float(t[at_rest]) if at_rest < len(t) else None
    return {
        "time": t, "speed": speed, "centroid": c,
        "peak_velocity": float(speed[k_peak]), "time_of_peak": float(t[k_peak]),
        "runout": float(c[-1, 0] - c[0, 0]), "drop": float(c[0, 1] - c[-1, 1]),
        "max_runout": float(np.max(c[:, 0] - c[0, 0])),
        "time_to_rest": rest_time, "final_speed": float(speed[-1]),
    }


def plot_monitor(path, motion: dict, rest_velocity: float, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = motion["time"]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6), dpi=120, sharex=True)
    a1.plot(t, motion["speed"], color="C0")
    a1.axhline(rest_velocity, color="0.6", lw=0.8, ls="--", label=f"rest ({rest_velocity} m/s)")
    a1.plot([motion["time_of_peak"]], [motion["peak_velocity"]], "o", color="C3",
            label=f"peak {motion['peak_velocity']:.1f} m/s at {motion['time_of_peak']:.1f} s")
    if motion["time_to_rest"] is not None:
        a1.axvline(motion["time_to_rest"], color="C2", lw=1, label=f"at rest {motion['time_to_rest']:.1f} s")
    a1.set_ylabel("speed of the mass centroid [m/s]")
    a1.legend(loc="upper right", fontsize=8)
    x = motion["centroid"][:, 0] - motion["centroid"][0, 0]
    a2.plot(t, x, color="C1")
    a2.set_ylabel("horizontal run-out [m]")
    a2.set_xlabel("time [s]")
    a2.annotate(f"{motion['runout']:.0f} m", (t[-1], x[-1]), ha="right", va="bottom")
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
    if sim.writer is not None:  # the plots follow output.plots, drawn below (not with the fields)
        sim.writer.plots = False
    initial = (0.0, np.concatenate(built.system.polygons()))
    with ctx.progress(total=spec.dda.duration, description=f"{case.name}: DDA t", unit="s") as bar:
        def report(info) -> None:
            bar.update(info.time, f"step {info.step} dt={info.dt:.2e} s open-close it {info.oc_iterations} "
                                  f"contacts {info.n_contacts} max block speed {info.max_velocity:.2f} m/s")

        try:
            result = sim.run(callback=report)
        except dda.SolverDivergence as exc:
            if exc.result is not None:
                ctx.extra["partial"] = _payload(case, ctx, built, group, mass, exc.result, settings,
                                                _frames(sim, initial, exc.result))
            raise SolverDivergence(str(exc)) from None
    return _payload(case, ctx, built, group, mass, result, settings, _frames(sim, initial, result))


def _frames(sim, initial, result) -> list:
    """(t, xy) snapshots: the written frames' first, middle and last, else the start and the end."""
    if sim.writer is not None and sim.writer.snap:
        return sim.writer.snapshots()
    final = result.polygons() if result.state is not None else None
    t_end = float(np.asarray(result.time)[-1]) if len(np.asarray(result.time)) else 0.0
    return [initial] + ([(t_end, np.concatenate(final))] if final is not None else [])


def _payload(case: Case, ctx: RunContext, built: _Built, group, mass, result, settings,
             frames=None) -> dict[str, Any]:
    spec: DdaCase = case.spec
    motion = group_motion(result, group, mass, spec.monitor.rest_velocity)
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
    }
    files: list[str] = []
    if ctx.rundir is not None and spec.output.fields:
        files += ["blocks.pvd", "contacts.pvd", "frames/", "history.h5"]
    if ctx.rundir is not None and spec.output.plots and ctx.is_root:
        plot_monitor(ctx.rundir.file("monitor.png"), motion, spec.monitor.rest_velocity, f"{case.name}: {spec.title}")
        files.append("monitor.png")
        if frames:
            from dda.output import plot_snapshots

            sizes = [len(p) for p in built.system.polygons()]
            voff = np.concatenate([[0], np.cumsum(sizes)])
            plot_snapshots(ctx.rundir.file("snapshots.png"), frames, voff, built.system.fixed,
                           title=f"{case.name}: {spec.title}",
                           water_level=built.system.water, water_density=spec.water.density if spec.water else None)
            files.append("snapshots.png")
    solver = {"kind": "dda", **{k: v for k, v in result.stats.items()}, "settings": spec.dda.model_dump()}
    return {"results": results, "solver": solver, "files": files}
