"""Run a DDA case: build the block system (:mod:`coupling.runners.dda_model`), simulate, report.

Reports for the monitored block group (mass-weighted): onset (first speed above
``monitor.rest_velocity``), peak velocity and its time, horizontal run-out of its centroid,
time to rest (speed below ``monitor.rest_velocity`` for the rest of the run) and the
duration from onset to rest, run-up of its front on ``monitor.runup_line``, its section
area, and for joint laws with a band state (thermal pressurisation) the band's mean
temperature rise and pore pressure: their time means over the slide (onset to peak speed)
and their largest values over the run; draws them in ``monitor.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import dda
import dda.checkpoint
import dda.contact_detect
from dda.openclose import ContactState, transfer
from coupling.case.dda import DdaCase
from coupling.case.loader import Case
from coupling.errors import CaseDiverged, CaseError
from coupling.restart import (RESTART_FILE, RESTART_FORMAT, RESTART_FORMAT_VERSION, CheckpointSchedule,
                              case_fingerprint, case_values, copy_frames)
from coupling.runner_context import RunContext, RunPayload
from coupling.runners.dda_model import BuiltSystem, build_system, case_key_path, monitored_group
from coupling.runners.reporting import accept_step


def group_motion(result: dda.Result, group: np.ndarray, mass: np.ndarray, rest_velocity: float,
                 rest_window: float = 1.0) -> dict[str, Any]:
    """Mass-weighted velocity and centroid of a block group; peak, run-out, time to rest.

    With x(t) the group's mass-centre abscissa [m]: ``runout`` = x(t_end) − x(0), signed
    (positive toward +x); ``max_runout`` = max over t of |x(t) − x(0)|, the largest
    horizontal distance travelled from the start in either direction (≥ 0, so a slide
    toward −x reports its travel too); ``drop`` = z(0) − z(t_end)."""
    t = np.asarray(result.time)
    from dda.output import mass_centre_speed

    w = mass[group] / mass[group].sum()
    c = np.einsum("b,tbk->tk", w, np.asarray(result.centroid)[:, group, :])
    speed = mass_centre_speed(result.velocity, mass, group)  # the one definition (velocity.png too)
    k_peak = int(np.argmax(speed))
    started = np.flatnonzero(speed >= rest_velocity)
    onset = float(t[started[0]]) if started.size else None
    # at rest (issue 14, item 4): from the last time the centroid is farther than
    # d_rest = rest_velocity × rest_window from where it ends (the distance it would creep in
    # one window at the rest speed), linearly interpolated between records; provided it has
    # settled (mean speed over the last window below rest_velocity). Elastic ringing of
    # stopped blocks about their final position (undamped contact springs) with an amplitude
    # below d_rest does not count as motion. The earlier rule (the last time the mean speed
    # over a window rose above rest_velocity) read the decay of that ringing through the
    # threshold, an instant round-off moved by seconds (34.1 s with MUMPS vs 39.9 s with SciPy
    # for the same stop); the distance to the final position falls through d_rest steeply as
    # the mass stops.
    rest_distance = rest_velocity * rest_window
    k_last_window = int(np.searchsorted(t, t[-1] - rest_window, side="right")) - 1
    settled = k_last_window >= 0 and t[-1] - t[k_last_window] >= rest_window and (
        np.linalg.norm(c[-1] - c[k_last_window]) < rest_velocity * (t[-1] - t[k_last_window]))
    if settled and speed[k_peak] >= rest_velocity and float(np.min(speed[k_peak:])) >= rest_velocity:
        # never below the rest speed since its peak: still moving (a run that ends during the event,
        # whose last window mostly holds the settling phase before it), not at rest at its peak
        settled = False
    remaining = np.linalg.norm(c - c[-1], axis=1)
    far = np.flatnonzero(remaining[k_peak:] >= rest_distance)
    rest_time = None
    if settled:
        if not far.size:
            rest_time = float(t[k_peak])
        else:
            k = k_peak + int(far[-1])  # the last record at or beyond d_rest; the next is within it
            a = (remaining[k] - rest_distance) / max(remaining[k] - remaining[k + 1], 1e-300)
            rest_time = float(t[k] + a * (t[k + 1] - t[k]))
    return {
        "time": t, "speed": speed, "centroid": c,
        "peak_velocity": float(speed[k_peak]), "time_of_peak": float(t[k_peak]),
        "runout": float(c[-1, 0] - c[0, 0]), "drop": float(c[0, 1] - c[-1, 1]),
        "max_runout": float(np.max(np.abs(c[:, 0] - c[0, 0]))),
        "time_to_rest": rest_time, "final_speed": float(speed[-1]), "onset_time": onset,
        "duration": (rest_time - onset) if (rest_time is not None and onset is not None) else None,
    }


class BandMonitor:
    """Mean state of the thermally pressurised band under the slide, over a run.

    L = length of the slide's base edges on the joints whose law has a pore-pressure state
    (learned.ThermalPressurisationFriction), at the start [m]. Per step:

    * temperature rise ΔT̄ = Q / (ρc h L): the heat Q [J/m] the band law has put into the band
      so far, spread over the band under the slide. Per accepted step and band contact,
      ΔQ_c = ρc h ΔT_c max(l_c, l_ref), ΔT_c the law's own temperature increment of the step
      (:meth:`learned.ThermalPressurisationFriction.advance`, exact for the step: in the
      adiabatic–undrained limit ρc h ΔT = ∫ τ dδ = μ σ′_n δ_c (1 − e^{−δ/δ_c})) and
      max(l_c, l_ref) the length over which the solver turns N into σ_n
      (:func:`dda.contact_law.joint_strength`). Before (sessions ≤ 19) Q was the solver's
      frictional work Σ F_f |Δs|, whose F_f holds the strength of the step's start: a left
      Riemann sum of the weakening, 1.07–1.58 × the law's heat for a block launched at 4 m/s
      with slip increments of 0.1–1 δ_c (Δt 2.5–20 ms; tests/test_thermal_pressurisation.py).
      Since session 29 the solver's strength reads the band's mean over the step
      (:meth:`learned.JointLaw.step_state`), so with the friction iterated to the step's slip
      (``dda.oc_friction_tolerance``) that work is the law's heat (1.000–1.005 ×, same test);
    * pore pressure p̄ = Σ_c p_c max(l_c, l_ref) / L = Σ_c r_c N_c / L over the band contacts
      (p_c = r_c σ_n,c the contact's pore pressure, r = p/σ'n the law state's column 1, N_c ≥ 0
      its normal force): the band's pore-pressure force per unit length of band. An open
      contact in the search distance carries no N and no pore pressure. (Before session 20:
      the l_c-weighted mean r̄ over every band contact, open ones included, times Σ N / L: at the
      Vajont onset two open contacts 0.3 m off the seat took a third off p̄, 1.35 MPa against
      2.08 MPa with a search distance 4 times smaller.)
    * with ``band_model = "diffusion"`` heat leaves the band, so Q/(ρc h L) is no temperature:
      ΔT̄ = Σ_c θ_c N_c / (Λ L) instead, θ = ΛT/σ'n the law state's column 0, like p̄;
    * pore-pressure ratio r̄ = Σ_c r_c N_c / Σ_c N_c = p̄ / σ̄_n [-]: the band's pore-pressure
      force over its normal force (0 ≤ r̄ < 1; r̄ → 1 is the fully pressurised band, no
      effective stress left). Unlike p̄ it does not follow the normal force: in an undrained
      band p = r σ_n, so p̄ rises with every impact's normal force and r̄ does not.

    Per-contact values are not reported: DDA's contact "stress" N/l_c is no band stress where
    a vertex overlaps an edge by a sliver or touches at a point (l_c → 0), and such contacts
    carry absurd local values (thousands of K) that say nothing about the band.
    The series (``time`` [s], ``temperature`` [K], ``pressure`` [Pa], ``ratio`` [-]) hold the
    values at each accepted step (drawn in monitor.png, written to history.h5's ``band`` group
    by :meth:`write`). Reported (:meth:`slide_means`, :meth:`slide_maxima`): their time means
    and largest values over the slide, from the onset to the peak speed, while the band carries
    the accelerating mass. Not reported: the values after the peak. In the arrival the blocks'
    corners strike the band, with normal forces of up to 22 times the slide's weight on one
    contact of length l_ref, which a rigid-block impact sets through Δt (its penalty spring and
    DDA's Δt-dependent restitution): the run's largest ΔT̄ and p̄ moved by 860 % and 150 % from
    Δt to Δt/4 (ensemble means, benchmarks/out/vajont_ensemble_resolution_session20.json), and
    the slide's largest p̄ (an impact at the chair's kink) by 40 % (session 21). Over the slide
    r̄'s and ΔT̄'s largest values are resolved in vajont.toml, whose impacts rebound with
    e_n = 0.2 at every Δt (``dda.contact_restitution``, session 23); with DDA's own
    Δt-dependent restitution ΔT̄'s moved 2.3 % from Δt to Δt/4 (session 21: the blocks'
    contacts chatter through the slide). The figures are in the case's ``accuracy`` key."""

    def __init__(self, sim: dda.Simulation) -> None:
        self.sim = sim
        sy = sim.system
        self.laws = {t: law for t, law in sy.joint_laws.items() if hasattr(law, "pore_pressure")}
        self.time: list[float] = [0.0]
        self.temperature: list[float] = [0.0]
        self.pressure: list[float] = [0.0]
        self.ratio: list[float] = [0.0]
        self.heat = 0.0  # the heat Q [J/m] put into the band so far (lumped form)
        #: the heat [J/m] each contact of the last recorded step put into the band over that step
        #: (lumped form; in the order of the step's contacts, dda.State.contacts; 0 off the band)
        self.contact_heat = np.zeros(0)
        # the contacts and vertex bands at the last record (dda.State.contacts, .vertex_band): the
        # step that follows starts from them, carried to its contacts by dda.openclose.transfer
        self._prev = (sim.state.contacts, sim.state.vertex_band)
        if self.laws:
            xy, nxt = sy.polys.xy, sy.polys.nxt
            edge_free = ~sy.fixed[sy.polys.block]
            on_band = np.isin(sy.edge_tag, list(self.laws)) & edge_free
            self.length = float(np.linalg.norm(xy[nxt] - xy, axis=1)[on_band].sum())
            law = next(iter(self.laws.values()))
            self.heat_per_kelvin = law.heat_capacity * law.band_thickness * max(self.length, 1e-300)
            self._tags = np.array(sorted(self.laws), dtype=np.int64)
            #: ρc h [J/(m² K)] of each band law, in the order of _tags
            self._rch = np.array([self.laws[t].heat_capacity * self.laws[t].band_thickness for t in self._tags])
            self.diffusion = any(getattr(lw, "band_model", "lumped") == "diffusion" for lw in self.laws.values())

    def __bool__(self) -> bool:
        return bool(self.laws) and self.length > 0

    @property
    def _root_only(self) -> bool:
        """A replicated run of several ranks (dda.Settings.distribute_min_free_blocks): rank 0
        holds the whole state and records alone; :meth:`share` gives the others its record."""
        return not self.sim.distributed and self.sim.comm.size > 1

    def record(self) -> None:
        if self._root_only:  # rank 0's own state is the one-rank state: no gather, nothing sent per step
            if self.sim.comm.rank != 0:
                return
            st, con = self.sim.state, getattr(self.sim, "last_contacts", None)
        else:  # every contact, gathered from the ranks (collective: record() runs on every rank)
            st, con = self.sim.global_state(), self.sim.global_last_contacts()
        p, t_band, ratio = 0.0, 0.0, 0.0
        cs = st.contacts
        self.contact_heat = np.zeros(cs.size)
        if con is not None and con.size and cs.size == con.size:
            m = np.isin(con.tag, self._tags)
            if not self.diffusion:
                self.heat += self._heat(*self._prev, cs, con, m)
            # p̄ = Σ p_c max(l_c, l_ref) / L = Σ r_c N_c / L over the band contacts that carry a
            # normal force (an open contact in the search distance holds no pore pressure on the band)
            n = np.where(m, np.maximum(cs.normal_force, 0.0), 0.0)
            if np.any(n > 0):
                law = next(iter(self.laws.values()))
                force = float(n.sum())
                p = float(np.dot(n, cs.law_state[:, 1])) / self.length
                ratio = p * self.length / force  # Σ r_c N_c / Σ N_c
                t_band = float(np.dot(n, cs.law_state[:, 0])) / self.length / law.pressurisation
        self._prev = (cs, st.vertex_band)
        self.time.append(st.time)
        self.temperature.append(t_band if self.diffusion else self.heat / self.heat_per_kelvin)
        self.pressure.append(p)
        self.ratio.append(ratio)

    def restart_from_state(self) -> None:
        """The last record's contacts are the restored simulation's (collective on a distributed run)."""
        st = self.sim.state if self._root_only else self.sim.global_state()
        self._prev = (st.contacts, st.vertex_band)

    def _heat(self, prev: ContactState, vertex_band: np.ndarray, cs: ContactState, con: dda.contact_detect.Contacts,
              m: np.ndarray) -> float:
        """Heat [J/m] the band laws put into the band over the step just accepted:
        Σ_c ρc h (T_c − T_c⁻) max(l_c, l_ref) over the band contacts m, T_c the law state's
        temperature column [K] after the step and T_c⁻ before it: the last record's contacts
        ``prev`` and vertex bands carried to this step's contacts ``con`` by
        :func:`dda.openclose.transfer`, as the step did."""
        self.contact_heat = np.zeros(con.size)
        if not np.any(m) or cs.law_state.shape[1] == 0:
            return 0.0
        start = transfer(prev, con, 0.0, np.zeros(con.size, dtype=bool), n_state=cs.law_state.shape[1],
                         nxt=self.sim.system.polys.nxt, vertex_band=vertex_band).law_state[:, 0]
        rch = self._rch[np.searchsorted(self._tags, con.tag[m])]
        length = np.maximum(con.lc[m], self.sim.l_ref)
        heat = rch * (cs.law_state[m, 0] - start[m]) * length
        self.contact_heat[m] = heat
        return float(np.sum(heat))

    def _slide(self, onset: float | None, peak: float | None) -> np.ndarray | None:
        """Mask of the records from the onset t₀ to the time of peak speed t_p (None without an
        onset, a later peak, or two records between them)."""
        if onset is None or peak is None or not peak > onset:
            return None
        t = np.asarray(self.time)
        sel = (t >= onset) & (t <= peak)
        return sel if np.count_nonzero(sel) >= 2 else None

    def slide_maxima(self, onset: float | None, peak: float | None) -> tuple[float, float] | None:
        """The band's largest mean temperature rise ΔT̄ [K] and pore-pressure ratio r̄ = p̄/σ̄_n [-]
        over the slide (onset t₀ to peak speed t_p); None as :meth:`slide_means`. In the lumped
        (adiabatic) form ΔT̄ only rises, so its largest value is the one at the peak."""
        sel = self._slide(onset, peak)
        if sel is None:
            return None
        return float(np.max(np.asarray(self.temperature)[sel])), float(np.max(np.asarray(self.ratio)[sel]))

    def slide_means(self, onset: float | None, peak: float | None) -> tuple[float, float] | None:
        """Time means of the band's mean temperature rise [K] and pore pressure [Pa] over the
        slide, from the onset t₀ to the time of peak speed t_p: (1/(t_p − t₀)) ∫ ΔT̄ dt and
        (1/(t_p − t₀)) ∫ p̄ dt over the accepted steps (trapezoidal). The state of the band
        while it carries the accelerating slide, which thermal pressurisation is about; the
        arrival (impacts after the peak) is left out. None without an onset and a later peak."""
        sel = self._slide(onset, peak)
        if sel is None:
            return None
        ts = np.asarray(self.time)[sel]
        span = float(ts[-1] - ts[0])
        return (float(np.trapezoid(np.asarray(self.temperature)[sel], ts)) / span,
                float(np.trapezoid(np.asarray(self.pressure)[sel], ts)) / span)

    def write(self, path: Path) -> None:
        """Add the series to history.h5 (``path``): group ``band`` with ``time`` [s],
        ``temperature_rise`` [K], ``pore_pressure`` [Pa] and ``pore_pressure_ratio`` [-] (band
        means, one value per accepted step from t = 0), replacing a group a restarted run's file
        already has."""
        import h5py

        with h5py.File(path, "a") as f:
            if "band" in f:
                del f["band"]
            g = f.create_group("band")
            g.attrs["description"] = ("mean state of the thermally pressurised band under the slide "
                                      "(coupling.runners.dda.BandMonitor), one value per accepted step")
            for name, values, unit in (("time", self.time, "s"), ("temperature_rise", self.temperature, "K"),
                                       ("pore_pressure", self.pressure, "Pa"),
                                       ("pore_pressure_ratio", self.ratio, "1")):
                d = g.create_dataset(name, data=np.asarray(values, dtype=float))
                d.attrs["units"] = unit  # the attribute name of every other history.h5 dataset
                d.attrs["unit"] = unit  # the former name, kept for readers of earlier files


    def share(self) -> None:
        """Collective on a replicated run: every rank takes rank 0's record (the reported maxima,
        the plotted series and the checkpointed heat are the same on every rank)."""
        if self._root_only:
            self.time, self.temperature, self.pressure, self.ratio, self.heat, self._prev = self.sim.comm.bcast(
                (self.time, self.temperature, self.pressure, self.ratio, self.heat, self._prev), root=0)


def _figure(v: float) -> str:
    """A result for a plot label: three significant digits, whole numbers from 100 up
    (0.785 → "0.785", 24.66 → "24.7", 332.4 → "332", 1234.5 → "1234"; ``:.0f`` printed a
    0.785 m run-out as "1 m" and an onset at 0.006 s as "0.0 s")."""
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


def plot_monitor(path, motion: dict, rest_velocity: float, title: str, not_resolved: tuple[str, ...] = ()) -> None:
    """Plot the monitored group's speed [m/s], run-out [m] (and the band state) against time [s].
    A figure named in ``not_resolved`` (the case's key: results it does not resolve) is labelled so."""
    def mark(*keys: str) -> str:
        return " (not resolved)" if set(keys) & set(not_resolved) else ""

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
            label=f"peak {_figure(motion['peak_velocity'])} m/s at {_figure(motion['time_of_peak'])} s"
                  f"{mark('peak_velocity')}")
    if motion.get("onset_time") is not None:
        a1.axvline(motion["onset_time"], color="C4", lw=1, ls=":", label=f"onset {_figure(motion['onset_time'])} s")
    if motion["time_to_rest"] is not None:
        a1.axvline(motion["time_to_rest"], color="C2", lw=1, label=f"at rest {_figure(motion['time_to_rest'])} s{mark('time_to_rest', 'duration')}")
    a1.set_ylabel("speed of the mass centroid [m/s]")
    a1.legend(loc="upper right", fontsize=8)
    x = motion["centroid"][:, 0] - motion["centroid"][0, 0]
    label = (f"run-out {_figure(motion['runout'])} m{mark('runout')}"
             + (f", run-up {_figure(motion['runup'])} m{mark('runup')}" if "runup" in motion else ""))
    a2.plot(t, x, color="C1", label=label)
    a2.set_ylabel("horizontal run-out [m]")
    a2.legend(loc="best", fontsize=8)  # inside the axes, off the curve (a text at the curve's end left them)
    if band:
        a3 = axes[2]
        a3.plot(band.time, band.temperature, color="C3")
        a3.set_ylabel("band mean ΔT [K]", color="C3")
        b3 = a3.twinx()
        b3.plot(band.time, np.asarray(band.pressure) / 1e6, color="C0")
        b3.set_ylabel("band mean pore pressure [MPa]", color="C0")
        slide = band.slide_means(motion.get("onset_time"), motion["time_of_peak"])
        top = band.slide_maxima(motion.get("onset_time"), motion["time_of_peak"])
        if slide and top:  # the interval of the reported slide figures; after it, the arrival (not reported)
            a3.axvspan(motion["onset_time"], motion["time_of_peak"], color="0.9", zorder=0,
                       label=f"slide: mean ΔT {_figure(slide[0])} K{mark('band_temperature_rise_slide')}, "
                             f"p {_figure(slide[1] / 1e6)} MPa{mark('band_pore_pressure_slide')}; "
                             f"largest ΔT {_figure(top[0])} K{mark('band_temperature_rise_slide_max')}, "
                             f"p/σn {top[1]:.3f}{mark('band_pore_pressure_ratio_slide_max')}")
            a3.axvline(motion["time_of_peak"], color="0.5", lw=0.8, ls="--",
                       label="arrival: corner impacts, not resolved in Δt (not reported)")
            a3.legend(loc="upper left", fontsize=8)
    axes[-1].set_xlabel("time [s]")
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


#: joint laws a [trigger] can weaken (their peak friction falls towards the residual)
TRIGGER_LAWS = ("displacement_weakening", "velocity_weakening", "thermal_pressurisation")


def run_dda_case(case: Case, ctx: RunContext) -> RunPayload:
    """Build, simulate, report and write a DDA case; the run payload."""
    spec: DdaCase = case.spec
    built = build_system(case)
    group = monitored_group(case, built)
    out_dir = ctx.rundir.path if (ctx.rundir is not None and spec.output.fields) else None
    trigger = {}
    if spec.trigger is not None and spec.trigger.enabled:
        for key, allowed in (("joint", "a name in [joints]"), ("rate", "a reduction rate > 0 [deg/s]")):
            if getattr(spec.trigger, key) is None:
                raise case.error(f"trigger.{key}", "missing (required while trigger.enabled = true)",
                                 f"{allowed}, or trigger.enabled = false")
        names = [n for n in spec.joints if n != "default"]
        if spec.trigger.joint not in names:
            found = f"found {spec.trigger.joint!r}"
            if spec.trigger.joint == "default" and "default" in spec.joints:  # "define [joints.NAME]" before session 18
                found += " (the default joint law, which a trigger cannot weaken)"
            raise case.error("trigger.joint", found, " | ".join(names) or "define [joints.NAME] (a name other than "
                             "default) and give it to the edges or joint lines to weaken")
        kind = spec.joints[spec.trigger.joint].law.kind
        if kind not in TRIGGER_LAWS:
            raise case.error("trigger.joint", f"found {spec.trigger.joint!r}, a {kind} law (no peak and residual friction)",
                             "a joint whose law has phi_peak and phi_residual: " + " | ".join(TRIGGER_LAWS))
        trigger = {"trigger_joint": names.index(spec.trigger.joint), "trigger_rate": spec.trigger.rate,
                   "trigger_start": spec.trigger.start,
                   "trigger_hold_velocity": spec.trigger.hold_velocity or spec.monitor.rest_velocity}
    settings = dda.Settings(**spec.dda.model_dump(), **trigger, gravity=tuple(spec.gravity), output_dir=out_dir,
                            monitor_blocks=list(group))
    try:
        settings.validate()
        sim = dda.Simulation(built.system, settings, comm=ctx.comm)
    except dda.InputError as exc:
        raise case.error(case_key_path(exc.key_path, built.n_explicit, built.domain_of), f"found {exc.found}", exc.allowed)
    ctx.setup_done(blocks=built.system.nb, monitored_blocks=len(group))
    mass = built.density * built.areas
    if sim.writer is not None:  # the plots follow output.plots, drawn below (not with the fields)
        sim.writer.plots = False
    initial = (0.0, np.concatenate(built.system.polygons()))
    band = BandMonitor(sim)
    if ctx.restart is not None:
        _restore(ctx, sim, band)
    schedule = CheckpointSchedule(spec.output.restart_every_steps, spec.output.restart_every_seconds)
    if ctx.rundir is None:
        schedule = CheckpointSchedule(None, None)
    with ctx.progress(total=spec.dda.duration, description=f"{case.name}: DDA t", unit="s") as bar:
        def report(info) -> bool:  # once per accepted step
            accept_step(case)
            if band:
                band.record()
            bar.update(info.time, f"step {info.step} dt={info.dt:.2e} s open-close it {info.oc_iterations} "
                                  f"contacts {info.n_contacts} max block speed {info.max_velocity:.2f} m/s")
            # SIGINT/SIGTERM: stop after this complete step, on every rank (one allreduce; a replicated
            # run: rank 0's decision comes with the step's message, dda.Simulation.replicated_stop)
            stop = sim.replicated_stop() if replicated_stop else ctx.stop_requested()
            finished = info.time >= spec.dda.duration * (1 - 1e-12)
            ctx.stopped = stop and not finished  # a signal at the last step leaves a complete run
            if schedule.enabled:
                due = stop or (not finished and schedule.due(info.step))
                if ctx.comm.size > 1:  # decided on rank 0 (wall clock); the state is gathered from every rank
                    due = ctx.comm.bcast(due, root=0)
                if due:
                    arrays = _checkpoint_arrays(sim, band)
                    if ctx.is_root:
                        schedule.write(ctx.rundir.path, arrays, _checkpoint_attrs(case, ctx, sim))
            return stop

        if ctx.stop is not None:
            ctx.stop.deferred = True
            sim.stop_signal = lambda: ctx.stop is not None and ctx.stop.signum is not None
        replicated_stop = ctx.stop is not None and sim.replicated_run

        try:
            result = sim.solve(callback=report)
        except dda.SolverDivergence as exc:
            partial = (_payload(case, ctx, built, group, mass, exc.result, settings, _frames(sim, initial, exc.result), band)
                       if exc.result is not None else None)
            raise CaseDiverged(str(exc), partial) from None
    payload = _payload(case, ctx, built, group, mass, result, settings, _frames(sim, initial, result), band)
    if ctx.rundir is not None and ctx.is_root and (ctx.rundir.path / RESTART_FILE).is_file():
        payload.files.append(RESTART_FILE)
    return payload


def _checkpoint_attrs(case: Case, ctx: RunContext, sim: dda.Simulation) -> dict[str, Any]:
    """The identity of a DDA restart checkpoint (see :mod:`coupling.restart`)."""
    return {"format": RESTART_FORMAT, "format_version": RESTART_FORMAT_VERSION, "solver": case.solver,
            "mpi_ranks": ctx.comm.size, "case_fingerprint": case_fingerprint(case),
            "case_values": case_values(case),
            "step": sim.state.step, "time": sim.state.time}


def _checkpoint_arrays(sim: dda.Simulation, band: BandMonitor) -> dict[str, np.ndarray]:
    """The step loop's state (:func:`dda.checkpoint.snapshot`) and the band monitor's series."""
    arrays = dda.checkpoint.snapshot(sim)
    if band:
        arrays.update({"runner/band/time": np.asarray(band.time), "runner/band/temperature": np.asarray(band.temperature),
                       "runner/band/pressure": np.asarray(band.pressure), "runner/band/ratio": np.asarray(band.ratio),
                       "runner/band/work": np.asarray(band.heat)})  # the heat Q [J/m] (the key's name from before session 20)
    return arrays


def _restore(ctx: RunContext, sim: dda.Simulation, band: BandMonitor) -> None:
    """Continue from ``ctx.restart``: the step loop's state, the band monitor's series and (rank
    0) the frames written before the checkpoint, copied into this run folder."""
    ckpt = ctx.restart
    try:
        dda.checkpoint.restore(sim, ckpt.arrays)
    except (KeyError, ValueError) as exc:
        raise CaseError(None, "--restart", f"'{ckpt.folder / RESTART_FILE}' does not fit this case ({exc})",
                        "a checkpoint written by this case") from None
    if band:
        b = ckpt.section("runner/band")
        band.time, band.temperature, band.pressure = (b[k].tolist() for k in ("time", "temperature", "pressure"))
        # a checkpoint from before session 21 has no ratio series: zeros (its slide maximum then
        # counts the steps after the restart only)
        band.ratio = b["ratio"].tolist() if "ratio" in b else [0.0] * len(band.time)
        band.heat = float(b["work"].item())
        band.restart_from_state()  # the checkpoint is written after a record: its contacts are the last record's
    w = sim.writer
    if w is not None and ctx.is_root and w.frames:
        from dda.output import write_pvd

        names = [f for _, b, c in w.frames for f in (b, c) if f is not None]
        copy_frames(ckpt.folder, w.dir, names)
        write_pvd(w.dir / "blocks.pvd", [(t, b) for t, b, _ in w.frames])
        write_pvd(w.dir / "contacts.pvd", [(t, c) for t, _, c in w.frames if c is not None])


def _frames(sim, initial, result) -> list:
    """(t, xy) snapshots: the written frames' first, middle and last, else the start and the end."""
    if sim.writer is not None and sim.writer.snap:
        return sim.writer.snapshots()
    final = result.polygons() if result.state is not None else None
    t_end = float(np.asarray(result.time)[-1]) if len(np.asarray(result.time)) else 0.0
    return [initial] + ([(t_end, np.concatenate(final))] if final is not None else [])


def _payload(case: Case, ctx: RunContext, built: BuiltSystem, group, mass, result, settings,
             frames=None, band=None) -> RunPayload:
    """Key results of the monitored group, files written and solver statistics of a DDA run."""
    if band:
        band.share()  # collective on a replicated run (rank 0 recorded the band alone)
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
    if spec.dda.settle_time > 0:
        results["settle_time"] = spec.dda.settle_time
    if spec.trigger is not None and spec.trigger.enabled:  # the peak friction of the trigger joint when the onset held it
        results["onset_friction_deg"] = result.stats.as_dict().get("trigger_phi_deg")
        results["trigger_held_time"] = result.stats.as_dict().get("trigger_held_time")
    if spec.monitor.runup_line:
        line = np.asarray(spec.monitor.runup_line, dtype=float)
        results["runup"] = float(np.interp(front, line[:, 0], line[:, 1]) - line[0, 1]) if front > line[0, 0] else 0.0
    if band:
        # the slide (onset to peak speed) only: the arrival's corner impacts are not resolved (BandMonitor)
        slide = band.slide_means(motion["onset_time"], motion["time_of_peak"])
        results["band_temperature_rise_slide"], results["band_pore_pressure_slide"] = slide if slide else (None, None)
        top = band.slide_maxima(motion["onset_time"], motion["time_of_peak"])
        results["band_temperature_rise_slide_max"], results["band_pore_pressure_ratio_slide_max"] = top if top else (None, None)
        motion["band"] = band
    files: list[str] = []
    if ctx.rundir is not None and spec.output.fields:
        files += ["blocks.pvd", "contacts.pvd", "frames/", "history.h5"]
        if band and ctx.is_root and ctx.rundir.file("history.h5").is_file():
            band.write(ctx.rundir.file("history.h5"))
    if "runup" in results:
        motion["runup"] = results["runup"]
    if ctx.rundir is not None and spec.output.plots and ctx.is_root:
        plot_monitor(ctx.rundir.file("monitor.png"), motion, spec.monitor.rest_velocity, f"{case.name}: {spec.title}",
                     spec.not_resolved)
        files.append("monitor.png")
        if frames:
            from dda.output import plot_snapshots

            sizes = [len(p) for p in built.system.polygons()]
            voff = np.concatenate([[0], np.cumsum(sizes)])
            plot_snapshots(ctx.rundir.file("snapshots.png"), frames, voff, built.system.fixed,
                           title=f"{case.name}: {spec.title}",
                           water_level=built.system.water, water_density=spec.water.density if spec.water else None)
            files.append("snapshots.png")
    solver = {"kind": "dda", **result.stats.as_dict(), "settings": spec.dda.model_dump()}
    return RunPayload(results, solver, files)
