"""Case schema of Discontinuous Deformation Analysis (solver = "dda")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, field_validator, model_validator
from pydantic_core import PydanticCustomError

from coupling.case.common import CaseSpec, JointLawSpec, MaterialSpec, RestartOutputSpec, Strict, Vec2, refuse_limits


class BlockSpec(Strict):
    """One block given by its polygon (any orientation, convex or concave)."""

    name: str = Field("", description="name used by [monitor] and in messages")
    polygon: list[Vec2] = Field(min_length=3, description="vertices [m]")
    material: str = Field(description="a name in [materials]")
    fixed: bool = False
    edge_joints: list[str] | None = Field(
        None, description="joint name per edge (edge k runs from vertex k to k+1); '' = default joint law")
    velocity: Vec2 = Field((0.0, 0.0), description="initial centroid velocity [m/s]")


class JointLineSpec(Strict):
    """A joint line cutting a domain, from ``start`` to ``end`` [m], with a joint name."""

    start: Vec2
    end: Vec2
    joint: str = Field("", description="a name in [joints]; '' = default")


class JointSetSpec(Strict):
    """A family of parallel joints cutting a domain."""

    dip: float = Field(ge=-90, le=90, description="dip below horizontal [deg], positive dips towards +x")
    spacing: PositiveFloat = Field(description="[m]")
    trace_length: PositiveFloat | None = Field(None, description="[m]; omitted = persistent joints")
    gap: float = Field(0.0, ge=0, description="rock bridge between traces [m]")
    origin: Vec2 | None = Field(None, description="a point on one joint [m]")
    spacing_std: float = Field(0.0, ge=0, description="standard deviation of the spacing [m]")
    random_offset: bool = False
    seed: int = Field(0, ge=0, description="seed of the random spacing and offsets (numpy: a non-negative integer)")
    joint: str = ""


class DomainSpec(Strict):
    """A polygon cut into blocks by joint lines and joint sets."""

    name: str = ""
    polygon: list[Vec2] = Field(min_length=3)
    material: str
    fixed: bool = False
    boundary_joint: str = Field("", description="joint name of the domain's outer edges")
    joints: list[JointLineSpec] = []
    joint_sets: list[JointSetSpec] = []
    min_area: PositiveFloat | None = Field(None, description="blocks smaller than this are slivers [m^2]")


class WaterSpec(Strict):
    """Reservoir: hydrostatic pressure below the level on faces and joints of free blocks."""

    allowed_forms = {"level": "a number [m], or a table [[t, level], ...] [s, m]"}

    level: float | list[Vec2] = Field(description="level [m], or a table [[t, level], ...] [s, m]")
    density: PositiveFloat = Field(1000.0, description="[kg/m^3]")
    drag_coefficient: float = Field(0.0, ge=0, description="C_d, pressure drag -1/2 rho_w C_d (v.n)^2 n on the "
                                    "advancing submerged faces of moving blocks (dda.water_drag; ~1 for a bluff "
                                    "slide block, Grilli & Watts 2005; 0: off)")
    skin_friction: float = Field(0.0, ge=0, description="C_f, skin friction -1/2 rho_w C_f |v_t| v_t on the "
                                 "submerged faces of moving blocks (dda.water_drag; 0.0025-0.005; 0: off)")

    @field_validator("level")
    @classmethod
    def _level_table(cls, level):
        """A level table h(t) is interpolated in t (np.interp): at least one row, t strictly
        increasing (dda.water said only "table of shape (2, 2)" before session 18)."""
        if isinstance(level, list):
            if not level:
                raise ValueError("a number [m], or a table [[t, level], ...] [s, m] with at least one row")
            for i in range(1, len(level)):
                if not level[i][0] > level[i - 1][0]:
                    raise ValueError(f"a table [[t, level], ...] [s, m] with t strictly increasing (row {i}: "
                                     f"t = {level[i][0]:g} s after t = {level[i - 1][0]:g} s)")
        return level


#: the most time steps a DDA run may take at its largest steps (the limit of a dynamic NMM run)
MAX_STEPS = 10_000_000


class DdaSettingsSpec(Strict):
    """The ``[dda]`` table: time stepping, contact and open–close settings (dda.Settings)."""

    renamed_keys = {"solver": "linear_solver"}
    false_means_off = frozenset({"contact_restitution"})
    allowed_forms = {"contact_restitution": "a number in (0, 1), or false (off)"}

    duration: PositiveFloat = Field(description="simulated time [s]")
    dt: PositiveFloat = Field(description="largest time step of the event [s]; the first step unless initial_dt is given")
    dt_min: PositiveFloat = Field(1e-9, description="smallest step before the run is declared diverged [s]")
    dynamic: float = Field(1.0, ge=0, le=1, description="velocity carried between steps (1 dynamic, 0 static)")
    max_displacement_ratio: float = Field(0.01, gt=0, le=0.1, description="Shi's g2: vertex displacement per step / w0")
    length_scale: PositiveFloat | None = Field(None, description="w0 [m]; default half the model extent")
    penalty: PositiveFloat | None = Field(None, description="contact normal stiffness [N/m]; default from the blocks")
    penalty_factor: PositiveFloat = Field(50.0, description="penalty / block stiffness when penalty is omitted")
    shear_ratio: PositiveFloat = Field(2.5, description="normal / shear spring (Shi: 2.5)")
    max_penetration_ratio: PositiveFloat = Field(0.4, description="penetration limit / d0 (d0 = 2.5 g2 w0): a step "
                                                 "that penetrates more is cut; after two cuts the penalty doubles")
    contact_damping_ratio: float = Field(0.0, ge=0, description="damping ratio of a normal dashpot on closed contacts "
                                         "(dynamic steps; 0: elastic contact, impacts rebound; >= 1: no rebound)")
    contact_damping_time: float = Field(0.0, ge=0, description="tau_c [s]: normal contact damping c = penalty x tau_c "
                                        "as part of the model, the same at every dt <= 2 tau_c (DDA's update damps a "
                                        "contact like penalty x dt/2 itself; the rest is added); 0: off")
    contact_restitution: float | None = Field(None, gt=0, lt=1, description="e_n, normal coefficient of restitution "
                                              "of a block pair's impact, the same at every dt (total normal contact "
                                              "damping, DDA's own included; Wyllie 2014: ~0.2 for near-normal rock "
                                              "impacts); omitted or false: off (DDA's own update damping, "
                                              "which depends on dt; false lets a case switch off what the case it "
                                              "extends sets). Excludes contact_damping_ratio/_time")
    block_damping_time: float = Field(0.0, ge=0, description="tau_b [s]: the blocks' Kelvin-Voigt material damping, "
                                      "stress C eps + tau_b C d(eps)/dt (damping ratio omega tau_b / 2 of a strain "
                                      "mode), the same at every dt <= 2 tau_b (DDA's update damps the strain like "
                                      "C dt/2 itself; the rest is added); 0: off")
    oc_max_iterations: int = Field(7, ge=1, description="open–close iterations before the step is cut")
    oc_friction_tolerance: float = Field(0.0, ge=0, lt=1, description="open-close iteration goes on while the "
                                         "friction of sliding contacts moves by more than this fraction (0: off)")
    max_retries: int = Field(6, ge=0, description="step cuts before a non-settling step is accepted or the run diverges")
    linear_solver: Literal["auto", "mumps", "cg", "scipy", "schur"] = Field(
        "auto", description="auto (schur from 5,000 free blocks on, mumps below), PETSc MUMPS LU, PETSc CG + "
        "block Jacobi, serial SciPy (as fem.linear_solver), or "
        "schur: substructuring over schur_parts fixed parts (distributed; same numbers on 1..schur_parts ranks)")
    schur_parts: int = Field(2, ge=1, description="parts of the schur solve (>= the number of MPI ranks)")
    distribute_min_free_blocks: int = Field(
        5000, ge=0, description="under MPI the blocks are split over the ranks from this many free blocks on (or for "
        "an explicit schur solve); below, rank 0 computes each step as 1 rank does and the other ranks receive "
        "its results (the numbers of 1 rank); 0: always split")
    exact_rotation: bool = True
    output_interval: PositiveFloat | None = Field(None, description="time between VTU frames [s]; default 50 frames")
    history_every: int = Field(1, ge=1, description="record the history every n steps")
    settle_time: float = Field(0.0, ge=0, description="static settling phase before the event [s]: steps are static "
                               "(no velocity carried), joints show their static strength and their state (slip, band "
                               "temperature, pore pressure) does not change; 0 = loads applied at once at t = 0")
    settle_dt: PositiveFloat | None = Field(None, description="largest time step of the settling phase [s]; default dt")
    initial_dt: PositiveFloat | None = Field(None, description="first time step [s]; default dt: the step control "
                                             "grows it towards settle_dt while settling and dt after")
    impact_steps: int = Field(0, ge=0, le=10000, description="steps over which a landing on a band (a joint whose law "
                              "carries a state) is resolved: the step is cut to pi sqrt(m/p_n) / impact_steps; 0 = off")


class MonitorSpec(Strict):
    """The block group reported in summary.json (peak velocity, run-out, time to rest)."""

    blocks: list[str] = Field([], description="block or domain names; default all free blocks")
    rest_velocity: PositiveFloat = Field(0.1, description="at rest below this speed [m/s]")
    rest_window: PositiveFloat = Field(1.0, description="at rest: the centroid stays within rest_velocity × rest_window of its final position; settled: mean speed over the last window [s] below rest_velocity")
    runup_line: list[Vec2] = Field([], description="opposite flank, from its toe up [[x, z], ...] [m]: run-up = "
                                  "its elevation above the toe where the mass's front stops")

    @field_validator("runup_line")
    @classmethod
    def _runup_line(cls, line):
        """The run-up reads z(x) on the line (np.interp): at least 2 points, x strictly increasing."""
        if line and (len(line) < 2 or any(b[0] <= a[0] for a, b in zip(line, line[1:]))):
            raise ValueError("at least 2 points [[x, z], ...] from the toe up, x strictly increasing "
                             "(the slide moves towards +x; run-up = z(front) - z(toe))")
        return line


class TriggerSpec(Strict):
    """``[trigger]``: a strength-reduction trigger. From ``start`` (default: the end of
    ``dda.settle_time``) the peak friction of ``joint`` falls at ``rate`` towards its residual,
    φ_p(t) = max(φ_p − rate·(t − start), φ_r), and is held from the first step at which a free
    block moves faster than ``hold_velocity`` (default ``monitor.rest_velocity``): the onset.
    The onset time and the peak friction angle at the onset are outcomes of the run."""

    enabled: bool = Field(True, description="false: no trigger (a case that extends one with a trigger)")
    joint: str | None = Field(None, description="a name in [joints] whose law has phi_peak and phi_residual "
                              "(required while enabled)")
    rate: PositiveFloat | None = Field(None, description="peak-friction reduction rate [deg/s] (required while enabled)")
    start: float | None = Field(None, ge=0, description="start of the reduction [s]; default dda.settle_time")
    hold_velocity: PositiveFloat | None = Field(None, description="onset speed [m/s]; default monitor.rest_velocity")


class DdaJointSpec(Strict):
    """``[joints.NAME]``: a named joint and its law (``joints.NAME.law.kind``), the shape of an
    NMM joint's law (``joints[i].law.kind``). Edges and joint lines refer to it by NAME."""

    renamed_keys = {"kind": "law.kind"}

    law: JointLawSpec


class DdaOutputSpec(RestartOutputSpec):
    """``[output]`` of a DDA case: the shared options and restart checkpoints (coupling.restart).
    ``displacement``, ``deformation_scale`` and ``stress_maxima_exclude`` of the shared table do
    not apply (a DDA run writes the blocks where they are: frames, history.h5, snapshots.png, and
    reports no stress maxima): given, they are errors."""

    @field_validator("displacement")
    @classmethod
    def _no_displacement_file(cls, value):
        if value:
            raise ValueError("false: displacement.npz is written by FEM, NMM and data-driven runs; a DDA run "
                             "writes its blocks' frames and history.h5 (output.fields)")
        return value

    @field_validator("deformation_scale")
    @classmethod
    def _no_deformation_scale(cls, value):
        if value is not None:
            raise ValueError("omitted: a DDA run draws the blocks where they are (snapshots.png), with no magnification")
        return value

    @field_validator("stress_maxima_exclude")
    @classmethod
    def _no_stress_maxima(cls, value):
        if value:
            raise ValueError("omitted: a DDA run reports no stress maxima (its blocks have one stress each; "
                             "output.stress_maxima_exclude applies to FEM, data-driven and NMM runs)")
        return value


class DdaCase(CaseSpec):
    """A system of rock blocks solved by DDA."""

    solver: Literal["dda"]
    output: DdaOutputSpec = DdaOutputSpec()
    gravity: Vec2 = Field((0.0, -9.81), description="[m/s^2]")
    materials: dict[str, MaterialSpec] = Field(description="name -> material table (density > 0)")
    joints: dict[str, DdaJointSpec] = Field({}, description="name -> joint (its law); 'default' applies to untagged edges")
    blocks: list[BlockSpec] = []
    domains: list[DomainSpec] = []
    water: WaterSpec | None = None
    dda: DdaSettingsSpec
    monitor: MonitorSpec = MonitorSpec()
    trigger: TriggerSpec | None = None

    @model_validator(mode="after")
    def _step_count(self) -> "DdaCase":
        """At most MAX_STEPS steps at the largest steps (settle_dt while settling, dt after), as a
        dynamic NMM run: ``dda.duration = 1e300`` or ``dda.dt = 1e-300`` passed ``check`` and ran
        for ever before session 18 (n = t_s / Δt_s + (T − t_s) / Δt, t_s = min(settle_time, T)).
        A settle_dt below dt_min is left to its own, more precise message (the run's set-up)."""
        d = self.dda
        if d.settle_dt is not None and d.settle_dt < d.dt_min:
            return self
        settle = min(d.settle_time, d.duration)
        steps = settle / (d.settle_dt or d.dt) + (d.duration - settle) / d.dt
        if not steps <= MAX_STEPS + 0.5:  # also inf
            key = "dda.settle_dt" if d.settle_dt is not None and settle / d.settle_dt > MAX_STEPS / 2 else "dda.dt"
            given = f"{getattr(d, key.split('.')[1]):g} s with duration = {d.duration:g} s" + (
                f", settle_time = {d.settle_time:g} s" if d.settle_time > 0 else "")
            raise PydanticCustomError("value_error", "{key}: found {value}; allowed: {allowed}",
                                      {"key": key, "value": f"{given}: {steps:.3g} steps at the largest step",
                                       "allowed": f"at most {MAX_STEPS:,} steps (a longer step, a shorter duration)"})
        return self

    @model_validator(mode="after")
    def _dda_limits(self) -> "DdaCase":
        refuse_limits(self, ("max_cells", "max_memory_gb"), "omitted: a DDA case has no mesh and no memory "
                      "estimate; limits.max_blocks bounds it")
        return self
