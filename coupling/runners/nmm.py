"""Run an NMM case (solver = "nmm"): build the manifold model, solve, report, write files.

The model is built by :mod:`coupling.runners.nmm_model`; bad input is a one-line
:class:`coupling.CaseError` raised there, before anything is written.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from mpi4py import MPI

import nmm
from coupling.case.loader import Case
from coupling.case.nmm import NmmCase
from coupling.errors import CaseDiverged
from coupling.output.fields_vtu import FieldSeries
from coupling.output.load_curve import LoadDisplacementCurve
from coupling.output.probes import nmm_probe
from coupling.runner_context import RunContext, RunPayload
from coupling.signals import StopAtStep
from coupling.runners.nmm_model import Built, build_model
from coupling.runners.reporting import (accept_step, excluded_report, outside_discs, points_outside_discs,
                                        probes_report)
from nmm.output import vtu_mesh
from learned.contract import StepRecord

# ---------------------------------------------------------------------------- run
def run_nmm_case(case: Case, ctx: RunContext) -> RunPayload:
    """Build, solve (load steps, Newton / open–close), report and write an NMM case."""
    spec: NmmCase = case.spec
    t0 = time.perf_counter()
    built = build_model(case, ctx.comm)
    model = built.model
    t_build = time.perf_counter() - t0
    if spec.nmm.dynamic:
        from coupling.runners.nmm_dynamic import run_nmm_dynamic

        return run_nmm_dynamic(case, ctx, built, t_build)
    ctx.setup_done(dofs=model.ndof, covers=model.man.n_covers, elements=model.man.n_elements)
    steps = spec.nmm.load_steps
    guess, warm = None, None
    if ctx.initial_guess is not None:  # network proposes (a field surrogate's DOF vector), Newton corrects
        from coupling.ensemble.warm_start import nmm_initial_guess

        t_guess = time.perf_counter()
        guess, warm = nmm_initial_guess(model, case, ctx.initial_guess)
        warm["time_s"] = time.perf_counter() - t_guess
    # one field output step per converged load step, timestep = load factor k / steps
    series = FieldSeries(ctx.rundir.path if (ctx.rundir is not None and spec.output.fields) else None, ctx.comm.rank)
    # several load steps and displacement probes: results.load_displacement, load_displacement.png (as FEM)
    curve = LoadDisplacementCurve(spec.probes, steps)

    # SIGINT/SIGTERM: checked (collectively) at every Newton iteration; the run publishes the
    # last complete load step (its result and contact states, kept here)
    last: dict[str, Any] = {"k": 0, "result": None, "contact": None}

    def write_step(k: int, step_result) -> None:
        last.update(k=k, result=step_result, contact=model.contact.snapshot() if model.contact is not None else None)
        curve.record(k / steps, lambda points, quantities: nmm_probe(step_result, points, quantities))
        if series.enabled:
            series.add(k / steps, vtu_mesh(step_result))

    if ctx.stop is not None:
        ctx.stop.deferred = True
    with ctx.progress(total=steps, description=f"{case.name}: NMM Newton") as bar:
        def report(rec: StepRecord) -> None:
            if rec.converged:
                accept_step(case)
            bar.update(rec.step - 1 + (1 if rec.converged else min(rec.iterations, 1) * 0.5),
                       f"{case.name}: step {rec.step}/{steps} it {rec.iterations} |R|/|R0|={rec.residual:.2e}")
            if ctx.stop_requested():
                raise StopAtStep

        try:
            result = model.solve(load_steps=steps, rtol=spec.nmm.newton.rtol, atol=spec.nmm.newton.atol,
                                 max_iterations=spec.nmm.newton.max_iterations, callback=report,
                                 on_step=write_step, initial_guess=guess)
        except StopAtStep:
            if last["result"] is None:
                return RunPayload({"converged_load_factor": 0.0}, {"kind": "nmm", "order": model.order,
                                                                    "dofs": model.ndof})
            if last["contact"] is not None:
                model.contact.restore(last["contact"])
            return _finish(case, ctx, built, last["result"], t_build, load_factor=last["k"] / steps, series=series,
                           curve=curve)
        except nmm.SolverDivergence as exc:
            if exc.result is not None:
                partial = _finish(case, ctx, built, exc.result, t_build, load_factor=exc.load_factor, series=series,
                                  curve=curve)
            else:
                partial = RunPayload({"converged_load_factor": 0.0},
                                     {"kind": "nmm", "order": model.order, "dofs": model.ndof})
            raise CaseDiverged(str(exc), partial) from None
        bar.update(steps)
    payload = _finish(case, ctx, built, result, t_build, load_factor=1.0, series=series, curve=curve)
    if warm is not None:
        warm.update(result.stats.initial_guess or {}, iterations=result.stats.newton_iterations)
        payload.solver["initial_guess"] = warm
    return payload


def _probes(case: Case, result) -> dict[str, Any]:
    """Probe values: the mean over the manifold elements touching each point
    (:mod:`coupling.output.probes`; the same on any number of ranks)."""
    probes = case.spec.probes
    values = nmm_probe(result, np.asarray([p.point for p in probes], float), [p.quantity for p in probes])
    return probes_report(probes, values)


def _sifs(case: Case, result) -> list[dict[str, Any]]:
    spec: NmmCase = case.spec
    out = []
    for s in result.compute_sif(r_out=spec.sif.r_out, r_in_ratio=spec.sif.r_in_ratio):
        c = spec.cracks[s["crack"]]
        entry = {"crack": s["crack"], "name": c.name, **{k: s[k] for k in ("tip", "KI", "KII", "J", "r_in", "r_out")}}
        for k, ref in (("KI", c.reference_KI), ("KII", c.reference_KII)):
            if ref is not None:
                # relative to |reference|; a zero K_II reference is compared with |reference_KI|
                scale = abs(ref) or abs(c.reference_KI or 0.0) or 1.0
                entry[f"reference_{k}"] = ref
                entry[f"relative_error_{k}"] = abs(s[k] - ref) / scale
        out.append(entry)
    return out


def _joints(case: Case, built: Built, result) -> list[dict[str, Any]]:
    """Per case joint: contact states, slip and opening [m], normal and shear stress [Pa].

    ``max_normal_stress`` is the largest mean normal traction σ̄_n over a length
    ``output.joint_stress_length`` of the joint (:meth:`nmm.contact.JointContact.window_normal_stress`),
    over the windows all of whose contact points lie outside every ``output.stress_maxima_exclude``
    disc (None when none does); the slips and openings are over all its points."""
    contact = built.model.contact
    gn, gt = contact.jumps(result.u)
    case_of = np.asarray(built.joint_case_index)[contact.jid]
    sigma_n = np.where(contact.state != 0, -contact.kn * gn, 0.0)
    discs = case.spec.output.stress_maxima_exclude
    stressed = points_outside_discs(contact.x, discs) if discs else None
    # σ̄_n: the mean over the joint length output.joint_stress_length about every point
    window_sn, whole = contact.window_normal_stress(sigma_n, case.spec.output.joint_stress_length, stressed)
    out = []
    for i, j in enumerate(case.spec.joints):
        sel = case_of == i
        counted = sel if stressed is None else sel & stressed
        if counted.any():  # the windows of this joint that lie wholly outside the discs
            take = sel & whole
            max_sn = float(window_sn[take].max()) if take.any() else None
        else:  # a joint without points: 0; one wholly inside the discs: None (nothing to take it over)
            max_sn = 0.0 if stressed is None else None
        st = contact.state[sel]
        slide = st == 2
        out.append({
            "name": j.name or f"joint {i}",
            "points": int(sel.sum()),
            "open": int((st == 0).sum()),
            "stick": int((st == 1).sum()),
            "slide": int(slide.sum()),
            "max_slip": float(np.abs(gt[sel]).max()) if sel.any() else 0.0,
            "max_slip_sliding": float(np.abs(gt[sel][slide]).max()) if slide.any() else 0.0,
            "max_opening": float(max(gn[sel].max(), 0.0)) if sel.any() else 0.0,
            "max_normal_stress": max_sn,
        })
    return out


def _holes(built: Built, result) -> list[dict[str, Any]]:
    """Convergence of every hole: diameter changes (closing > 0) and largest inward displacement."""
    out = []
    for k, h in enumerate(built.holes):
        c = h.mean(axis=0)
        r = h - c
        eps = 1e-9 * built.model.domain.size
        rn = r / np.linalg.norm(r, axis=1)[:, None]
        x = h + eps * rn  # just inside the rock
        u = result.displacement(x)
        inward = -(u * rn).sum(1)
        ang = np.arctan2(r[:, 1], r[:, 0])
        pick = {name: int(np.argmin(np.abs(np.angle(np.exp(1j * (ang - a))))))
                for name, a in (("right", 0.0), ("top", np.pi / 2), ("left", np.pi), ("bottom", -np.pi / 2))}
        out.append({
            "hole": k,
            "horizontal_convergence": float(u[pick["right"], 0] * -1 + u[pick["left"], 0]),
            "vertical_convergence": float(-u[pick["top"], 1] + u[pick["bottom"], 1]),
            "crown_displacement": float(u[pick["top"], 1]),
            "invert_displacement": float(u[pick["bottom"], 1]),
            "max_inward_displacement": float(inward.max()),
        })
    return out


def _elements_outside(model, discs) -> np.ndarray:
    """(nE,) bool: the manifold elements wholly outside every disc (each of their integration
    triangles is, :func:`coupling.runners.reporting.outside_discs`)."""
    man = model.man
    keep = np.ones(man.n_elements, dtype=bool)
    np.logical_and.at(keep, man.sub_elem, outside_discs(man.sub_xy, discs))
    return keep


def stress_maxima(case: Case, built: Built, result, results: dict[str, Any]) -> None:
    """``results.max_von_mises`` [Pa]: the largest element-mean von Mises (σzz of the law in
    plane strain, :func:`nmm.output.element_von_mises`; collective) over the manifold elements
    wholly outside every ``output.stress_maxima_exclude`` disc (all of them without discs); with
    discs also ``results.stress_maxima_exclude`` (the discs, the elements and joint points left out).
    Static and dynamic NMM runs."""
    from nmm.output import element_von_mises

    vm = element_von_mises(result)  # σzz included (plane strain), as the FEM runner
    discs = case.spec.output.stress_maxima_exclude
    if not discs:
        results["max_von_mises"] = float(vm.max()) if len(vm) else 0.0
        return
    keep = _elements_outside(built.model, discs)
    results["max_von_mises"] = float(vm[keep].max())  # some element is outside: nmm_model's set-up check
    contact = built.model.contact
    points = None if contact is None else int((~points_outside_discs(contact.x, discs)).sum())
    results["stress_maxima_exclude"] = excluded_report(discs, int((~keep).sum()), points)


def _finish(case: Case, ctx: RunContext, built: Built, result, t_build: float, load_factor: float,
            series: FieldSeries, curve: LoadDisplacementCurve | None = None) -> RunPayload:
    """Probes, SIFs, joints, holes, fields and plots of the converged state; the payload."""
    spec: NmmCase = case.spec
    model = built.model
    t0 = time.perf_counter()
    results: dict[str, Any] = {"converged_load_factor": load_factor}
    if spec.probes:
        results["probes"] = _probes(case, result)
    if spec.cracks and spec.sif.compute:
        results["sif"] = _sifs(case, result)
    if model.contact is not None:
        results["joints"] = _joints(case, built, result)
    if built.holes:
        results["holes"] = _holes(built, result)
    results["max_abs_displacement"] = float(np.abs(result.displacement(model.asm.quad.x)).max()) if len(model.asm.quad.x) else 0.0
    results["max_abs_displacement"] = ctx.comm.allreduce(results["max_abs_displacement"], op=MPI.MAX)
    stress_maxima(case, built, result, results)
    res = result.stats.residuals or [None]
    results["relative_residual"] = res[-1]
    t_post = time.perf_counter() - t0

    files = []
    t0 = time.perf_counter()
    files += series.files
    if ctx.rundir is not None and spec.output.displacement:
        from coupling.ensemble.warm_start import write_nmm_displacement

        files.append(write_nmm_displacement(model, result.u, ctx.rundir.file("displacement.npz")))
    if ctx.rundir is not None and spec.output.plots:
        result.plot(ctx.rundir.file("deformed.png"), scale=spec.output.deformation_scale,
                    title=f"{case.name}: {spec.title}", exclude=spec.output.stress_maxima_exclude,
                    reported_max=results["max_von_mises"])
        files.append("deformed.png")
    if curve is not None:
        curve.publish(case, ctx, results, files)
    t_out = time.perf_counter() - t0

    st = result.stats
    solver = {
        "kind": "nmm",
        "order": model.order,
        "law": model.law.describe(),
        "dofs": st.dofs,
        "covers": st.covers,
        "manifold_elements": st.elements,
        "cover_triangles": model.mesh.n_triangles,
        "integration_points": st.integration_points,
        "cracks": len(model.cracks),
        "joints": len(spec.joints),
        "contact": st.contact,
        "load_steps": spec.nmm.load_steps,
        "newton_iterations": st.newton_iterations,
        "linear_solves": st.solves,
        "residual_history": st.residuals,
        "time_build_s": t_build,
        "time_covers_s": st.timings.get("covers"),
        "time_setup_s": st.timings.get("setup"),
        "time_solve_s": st.timings.get("solve"),
        "time_postprocess_s": t_post,
        "time_output_s": t_out,
    }
    return RunPayload(results, solver, files)
