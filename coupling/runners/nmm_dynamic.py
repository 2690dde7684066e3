"""Run a dynamic NMM case (``solver = "nmm"`` with ``nmm.duration`` and ``nmm.dt``).

Implicit dynamics by Shi's DDA scheme (:func:`nmm.solve.solve_dynamic`): ``duration / dt``
steps of ``dt`` [s] from rest, the loads, gravity and initial stress applied at t = 0 and
held (a suddenly applied load). Every step records every probe (the value at its point,
the same definition as a static run's probes: :func:`coupling.output.probes.nmm_probe`);
summary.json reports per probe its final ``value``, its ``peak`` (the value of largest
magnitude over the run, signed) and ``time_of_peak`` [s]; a probe's ``reference`` is compared
with its peak (e.g. twice the static deflection under a suddenly applied load).

Files (like a DDA run): ``fields.pvd`` + ``fields/fields_NNNN.vtu`` frames every
``nmm.output_interval`` [s] (default 50 frames) and at the last step, ``history.h5``
(``time`` [s], ``probes/<name>`` per step in the unit of its quantity, the final state
``state/u`` [m] and ``state/velocity`` [m/s] of the dofs) with ``output.fields``;
``deformed.png`` with ``output.plots``.

Restart (the conventions of :mod:`coupling.restart`, as DDA): ``output.restart_every_steps``
/ ``restart_every_seconds`` write ``restart.h5`` (and after the last complete step of a run
stopped by SIGINT/SIGTERM). It holds each rank's step-loop snapshot (``nmm/rank<r>/…``: u,
v, the law state at the rank's integration points, the contact history, counts, the time
history) and the runner's series (``runner/…``: the probe histories and the frames written);
``run --restart RUN_DIR`` continues from it on the same number of ranks.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from mpi4py import MPI

import nmm
from coupling.case.loader import Case
from coupling.case.nmm import NmmCase
from coupling.errors import CaseDiverged, CaseError
from coupling.output.fields_vtu import FieldSeries
from coupling.restart import (RESTART_FILE, RESTART_FORMAT, RESTART_FORMAT_VERSION, CheckpointSchedule,
                              case_fingerprint, case_values, copy_frames)
from coupling.runner_context import RunContext, RunPayload
from coupling.runners.nmm_model import Built
from coupling.runners.reporting import accept_step, relative_error
from nmm.output import vtu_mesh


class _Probes:
    """Every probe's value at every step (the time series of history.h5)."""

    def __init__(self, case: Case) -> None:
        self.spec = case.spec.probes
        self.points = np.asarray([p.point for p in self.spec], float).reshape(-1, 2)
        self.quantities = [p.quantity for p in self.spec]
        self.series: list[np.ndarray] = []

    def record(self, result) -> None:
        from coupling.output.probes import nmm_probe

        self.series.append(nmm_probe(result, self.points, self.quantities) if self.spec else np.zeros(0))

    def array(self) -> np.ndarray:
        """(n_records, n_probes) values in the unit of each probe's quantity."""
        return np.asarray(self.series, float).reshape(len(self.series), len(self.spec))

    def report(self, time_s: np.ndarray) -> dict[str, Any]:
        """summary.json entries: final value, peak (largest magnitude, signed), its time, and the
        reference compared with the peak."""
        values = self.array()
        out: dict[str, Any] = {}
        for i, p in enumerate(self.spec):
            col = values[:, i]
            k = int(np.argmax(np.abs(col)))
            entry: dict[str, Any] = {"point": list(p.point), "quantity": p.quantity, "value": float(col[-1]),
                                     "peak": float(col[k]), "time_of_peak": float(time_s[k])}
            if p.reference is not None:
                entry["reference"] = p.reference
                entry["compared"] = "peak"
                entry["relative_error"] = relative_error(float(col[k]), p.reference)
            out[p.name] = entry
        return out


def run_nmm_dynamic(case: Case, ctx: RunContext, built: Built, t_build: float) -> RunPayload:
    """Time steps of a dynamic NMM case with probes, frames, history, restart checkpoints."""
    spec: NmmCase = case.spec
    model = built.model
    n = spec.nmm
    steps, dt = n.time_steps, float(n.dt)
    interval = n.output_interval if n.output_interval is not None else n.duration / 50
    frame_every = steps if interval / dt >= steps else max(1, round(interval / dt))  # and the last step
    ctx.setup_done(dofs=model.ndof, covers=model.man.n_covers, elements=model.man.n_elements, time_steps=steps)
    comm = ctx.comm
    series = FieldSeries(ctx.rundir.path if (ctx.rundir is not None and spec.output.fields) else None, comm.rank)
    probes = _Probes(case)
    resume = _restore(case, ctx, model.ndof, series, probes) if ctx.restart is not None else None
    if resume is None:
        probes.record(nmm.NMMResult(model, np.zeros(model.ndof), np.zeros((0, 3)), np.zeros((0, 0)), None))
    schedule = CheckpointSchedule(spec.output.restart_every_steps, spec.output.restart_every_seconds)
    if ctx.rundir is None:
        schedule = CheckpointSchedule(None, None)
    last: dict[str, Any] = {"snapshot": None}
    if ctx.stop is not None:
        ctx.stop.deferred = True
    t0 = time.perf_counter()
    with ctx.progress(total=n.duration, description=f"{case.name}: NMM dynamics t", unit="s") as bar:
        def on_step(step: int, snapshot) -> bool:
            accept_step(case)
            result = snapshot.result()
            probes.record(result)
            last["snapshot"] = snapshot
            bar.update(step * dt, f"step {step}/{steps}")
            stop = ctx.stop_requested()  # collective: every rank stops after the same step
            if series.enabled and (step % frame_every == 0 or step == steps):
                series.add(step * dt, vtu_mesh(result))
            due = schedule.enabled and (stop or (step < steps and schedule.due(step)))
            if schedule.enabled and comm.bcast(due if ctx.is_root else None, root=0):
                _write_checkpoint(case, ctx, schedule, step, dt, snapshot(), probes, series)
            return stop

        try:
            result = model.solve_dynamic(dt=dt, n_steps=steps, rtol=n.newton.rtol, atol=n.newton.atol,
                                         max_iter=n.newton.max_iterations, on_step=on_step, resume=resume)
        except nmm.SolverDivergence as exc:
            partial = None
            if last["snapshot"] is not None:
                snap = last["snapshot"]
                state = snap()
                partial = _finish(case, ctx, built, snap.result(), state["history/time"], probes, series,
                                  {"steps": int(state["step"]), "step_cuts": int(state["step_cuts"]),
                                   "newton_iterations": int(state["iterations"]), "solves": int(state["solves"])},
                                  t_build, time.perf_counter() - t0)
            raise CaseDiverged(str(exc), partial) from None
    st = result.stats
    return _finish(case, ctx, built, result, result.history["time"], probes, series,
                   {"steps": st.steps, "step_cuts": st.step_cuts, "newton_iterations": st.newton_iterations,
                    "solves": st.solves}, t_build, time.perf_counter() - t0)


def _write_checkpoint(case: Case, ctx: RunContext, schedule: CheckpointSchedule, step: int, dt: float,
                      snapshot: dict[str, np.ndarray], probes: _Probes, series: FieldSeries) -> None:
    """restart.h5 (rank 0 writes): every rank's snapshot, the probe histories, the frames. Collective."""
    gathered = ctx.comm.gather(snapshot, root=0)
    if not ctx.is_root:
        return
    arrays: dict[str, np.ndarray] = {}
    for r, snap in enumerate(gathered):
        arrays.update({f"nmm/rank{r}/{k}": np.asarray(v) for k, v in snap.items()})
    arrays["runner/probes"] = probes.array()
    arrays["runner/frames/time"] = np.asarray([t for t, _ in series.entries], float)
    arrays["runner/frames/file"] = np.asarray([f for _, f in series.entries], dtype=str)
    attrs = {"format": RESTART_FORMAT, "format_version": RESTART_FORMAT_VERSION, "solver": case.solver,
             "mpi_ranks": ctx.comm.size, "case_fingerprint": case_fingerprint(case),
             "case_values": case_values(case),
             "step": step, "time": step * dt}
    schedule.write(ctx.rundir.path, arrays, attrs)


def _restore(case: Case, ctx: RunContext, ndof: int, series: FieldSeries, probes: _Probes) -> dict[str, np.ndarray]:
    """This rank's snapshot from ``ctx.restart``; the probe histories and (rank 0) the frames
    written before the checkpoint, copied into this run folder."""
    ckpt = ctx.restart
    resume = ckpt.section(f"nmm/rank{ctx.comm.rank}")
    values = ckpt.arrays.get("runner/probes")
    need = ("step", "u", "v", "state", "iterations", "solves", "step_cuts", "history/time")
    missing = [k for k in need if k not in resume]
    step = int(np.asarray(resume["step"]).item()) if "step" in resume else -1
    n = case.spec.nmm
    problem = None
    if missing or values is None:
        problem = f"no {', '.join(missing) or 'runner/probes'}"
    elif np.asarray(resume["u"]).shape != (ndof,):
        problem = f"u has {np.asarray(resume['u']).size} dofs, this case {ndof}"
    elif values.shape != (step + 1, len(probes.spec)):
        problem = f"probe histories of shape {values.shape}"
    elif not 0 < step < n.time_steps:
        problem = f"step {step} of {n.time_steps}"
    if problem is not None:
        raise CaseError(None, "--restart", f"'{ckpt.folder / RESTART_FILE}' does not fit this case ({problem})",
                        "a checkpoint written by this case") from None
    probes.series = list(np.asarray(values, float))
    times = ckpt.arrays.get("runner/frames/time", np.zeros(0))
    files = ckpt.arrays.get("runner/frames/file", np.zeros(0, dtype=str))
    if series.enabled:
        series.entries = [(float(t), str(f)) for t, f in zip(np.atleast_1d(times), np.atleast_1d(files))]
        if ctx.is_root and series.entries:
            from coupling.output.fields_vtu import write_pvd

            (series.folder / series.name).mkdir(exist_ok=True)
            copy_frames(ckpt.folder, series.folder, [f for _, f in series.entries])
            write_pvd(series.folder / f"{series.name}.pvd", series.entries)
    return resume


def _write_history(path, time_s: np.ndarray, probes: _Probes, result) -> None:
    """history.h5: time [s], probes/<name> per step, the final state u [m] and velocity [m/s]."""
    import h5py

    from learned.files import atomic_write

    values = probes.array()

    def write(tmp: str) -> None:
        with h5py.File(tmp, "w") as f:
            f["time"] = np.asarray(time_s, float)
            f["time"].attrs["units"] = "s"
            g = f.create_group("probes")
            for i, p in enumerate(probes.spec):
                g[p.name] = values[:, i]
                g[p.name].attrs["quantity"] = p.quantity
                g[p.name].attrs["units"] = "m" if p.quantity in ("ux", "uy") else "Pa"
                g[p.name].attrs["point"] = np.asarray(p.point, float)
            s = f.create_group("state")
            s["u"] = result.u
            s["velocity"] = result.velocity if result.velocity is not None else np.zeros_like(result.u)
            layout = "cover p, function f, component c -> p*2nf + 2f + c (nmm.approximation)"
            for name, unit in (("u", "m"), ("velocity", "m/s")):  # cover-function coefficients (ξ, η dimensionless)
                s[name].attrs["units"] = unit
                s[name].attrs["layout"] = layout
            s.attrs["time"] = float(time_s[-1])
            s.attrs["step"] = len(time_s) - 1

    atomic_write(path, write)


def _finish(case: Case, ctx: RunContext, built: Built, result, time_s, probes: _Probes, series: FieldSeries,
            counts: dict[str, int], t_build: float, t_solve: float) -> RunPayload:
    """Probes, maxima, history, plot and statistics of the last complete step; the payload."""
    spec: NmmCase = case.spec
    model = built.model
    time_s = np.asarray(time_s, float)
    results: dict[str, Any] = {"simulated_time": float(time_s[-1])}
    if spec.probes:
        results["probes"] = probes.report(time_s)
    if model.contact is not None:
        from coupling.runners.nmm import _joints

        results["joints"] = _joints(case, built, result)
    x = model.asm.quad.x
    local = float(np.abs(result.displacement(x)).max()) if len(x) else 0.0
    results["max_abs_displacement"] = ctx.comm.allreduce(local, op=MPI.MAX)
    from coupling.runners.nmm import stress_maxima

    stress_maxima(case, built, result, results)
    files = list(series.files)
    if ctx.rundir is not None and spec.output.fields:
        if ctx.is_root:
            _write_history(ctx.rundir.file("history.h5"), time_s, probes, result)
        files.append("history.h5")
    if ctx.rundir is not None and spec.output.plots:
        result.plot(ctx.rundir.file("deformed.png"), scale=spec.output.deformation_scale,
                    title=f"{case.name}: {spec.title} (t = {time_s[-1]:.4g} s)",
                    exclude=spec.output.stress_maxima_exclude, reported_max=results["max_von_mises"])
        files.append("deformed.png")
    if ctx.rundir is not None and ctx.is_root and (ctx.rundir.path / RESTART_FILE).is_file():
        files.append(RESTART_FILE)
    solver = {
        "kind": "nmm",
        "analysis": "dynamic",
        "order": model.order,
        "law": model.law.describe(),
        "dofs": model.ndof,
        "covers": model.man.n_covers,
        "manifold_elements": model.man.n_elements,
        "cover_triangles": model.mesh.n_triangles,
        "cracks": len(model.cracks),
        "joints": len(spec.joints),
        "contact": model.contact.summary() if model.contact is not None else None,
        "dt": spec.nmm.dt,
        "time_steps": spec.nmm.time_steps,
        **counts,
        "time_build_s": t_build,
        "time_solve_s": t_solve,
    }
    return RunPayload(results, solver, files)
