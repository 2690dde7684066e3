"""Run a DDA case: build the block system (:mod:`coupling.runners.dda_model`), simulate, report.

Reports for the monitored block group (mass-weighted): peak velocity, horizontal run-out of
its centroid, time to rest (speed below ``monitor.rest_velocity`` for the rest of the run),
its section area, and draws them in ``monitor.png``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import dda
from coupling.case.dda import DdaCase
from coupling.case.loader import Case
from coupling.errors import CaseDiverged
from coupling.runner_context import RunContext, RunPayload
from coupling.runners.dda_model import BuiltSystem, build_system, case_key_path, monitored_group


def group_motion(result: dda.Result, group: np.ndarray, mass: np.ndarray, rest_velocity: float) -> dict[str, Any]:
    """Mass-weighted velocity and centroid of a block group; peak, run-out, time to rest."""
    t = np.asarray(result.time)
    w = mass[group] / mass[group].sum()
    v = np.einsum("b,tbk->tk", w, np.asarray(result.velocity)[:, group, :2])
    c = np.einsum("b,tbk->tk", w, np.asarray(result.centroid)[:, group, :])
    speed = np.linalg.norm(v, axis=1)
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
    """Plot the monitored group's speed [m/s] and run-out [m] against time [s] into ``path``."""
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


def run_dda_case(case: Case, ctx: RunContext) -> RunPayload:
    """Build, simulate, report and write a DDA case; the run payload."""
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
        raise case.error(case_key_path(exc.key_path, built.n_explicit, built.domain_of), f"found {exc.found}", exc.allowed)
    ctx.setup_done(blocks=built.system.nb, monitored_blocks=len(group))
    mass = built.density * built.areas
    with ctx.progress(total=spec.dda.duration, description=f"{case.name}: DDA") as bar:
        def report(info) -> bool:
            bar.update(info.time, f"{case.name}: t={info.time:.2f}s dt={info.dt:.1e} contacts={info.n_contacts} "
                                  f"vmax={info.max_velocity:.2f}m/s")
            return ctx.stop_requested()  # SIGINT/SIGTERM: stop after this complete step, on every rank

        if ctx.stop is not None:
            ctx.stop.deferred = True

        try:
            result = sim.solve(callback=report)
        except dda.SolverDivergence as exc:
            partial = _payload(case, ctx, built, group, mass, exc.result, settings) if exc.result is not None else None
            raise CaseDiverged(str(exc), partial) from None
    return _payload(case, ctx, built, group, mass, result, settings)


def _payload(case: Case, ctx: RunContext, built: BuiltSystem, group, mass, result, settings) -> RunPayload:
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
        plot_monitor(ctx.rundir.file("monitor.png"), motion, spec.monitor.rest_velocity, spec.title)
        files.append("monitor.png")
    solver = {"kind": "dda", **result.stats.as_dict(), "settings": spec.dda.model_dump()}
    return RunPayload(results, solver, files)
