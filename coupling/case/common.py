"""Schema pieces shared by every case kind: strict models, materials, output options."""

from __future__ import annotations

import math
import types
from typing import Annotated, ClassVar, Literal, Union

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PositiveFloat, ValidationInfo, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError

from learned import ConstitutiveLaw, LinearElastic, PowerLawElastic


def _read_only(self, *args, **kwargs):
    raise TypeError("a validated case is read-only: change it with overrides "
                    "(coupling.run(case, overrides={...}) or load_case(path, overrides)), which validate again")


class ReadOnlyList(list):
    """A list inside a validated case table: reading works as for a list; changing it raises
    ``TypeError`` (so no change can bypass validation). ``a + b`` returns a new plain list."""

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only

    def __reduce__(self):
        return (ReadOnlyList, (list(self),))

    def __deepcopy__(self, memo):
        import copy

        return ReadOnlyList(copy.deepcopy(list(self), memo))


class ReadOnlyDict(dict):
    """A name -> table mapping inside a validated case table; changing it raises ``TypeError``."""

    __setitem__ = __delitem__ = __ior__ = _read_only
    pop = popitem = clear = update = setdefault = _read_only

    def __reduce__(self):
        return (ReadOnlyDict, (dict(self),))

    def __deepcopy__(self, memo):
        import copy

        return ReadOnlyDict(copy.deepcopy(dict(self), memo))


def _freeze(value):
    """Lists and dicts (at any depth) as their read-only kinds; tuples and models as they are."""
    if isinstance(value, list):
        return ReadOnlyList(_freeze(v) for v in value)
    if isinstance(value, dict):
        return ReadOnlyDict((k, _freeze(v)) for k, v in value.items())
    return value


class Strict(BaseModel):
    """Base of every case-file table: unknown keys are errors, every number is finite and
    is a TOML number (no true / false, no quoted string: pydantic's lax mode would convert them).

    ``allow_inf_nan=False`` applies to every float of every table (also inside tuples,
    lists and unions), so ``inf`` and ``nan`` (valid TOML) are bad input at load time.
    ``frozen=True`` and :class:`ReadOnlyList`/:class:`ReadOnlyDict` make a validated table
    read-only at every depth: a change goes through overrides, which validate again.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False, frozen=True)

    #: former key of this table -> its new key path relative to the table (one name per
    #: concept: a renamed key is an error that names the new key, never silently ignored)
    renamed_keys: ClassVar[dict[str, str]] = {}
    #: key -> what it allows, in an error's words, where the kind alone (``a number``) would
    #: leave out a form (e.g. water.level: a number or a table [[t, level], ...])
    allowed_forms: ClassVar[dict[str, str]] = {}
    #: optional keys whose ``false`` means "off", as if omitted: a case that extends another can
    #: switch off a model its base turns on (TOML has no null); ``true`` there is an error
    false_means_off: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _former_keys(cls, data):
        """A key listed in ``renamed_keys`` is an error naming its new key; true / false or a
        string (a quoted number, ``"30e9"``) where a number goes, or anything but true / false
        for a boolean, is an error too (loader: one line, exit 2); ``false`` for a key of
        ``false_means_off`` is the key omitted."""
        if isinstance(data, dict):
            if any(data.get(k) is False for k in cls.false_means_off):
                data = {k: v for k, v in data.items() if not (k in cls.false_means_off and v is False)}
            for old, new in cls.renamed_keys.items():
                if old in data:
                    raise PydanticCustomError("renamed_key", "renamed: use {new}", {"old": old, "new": new})
            for key, value in data.items():  # true/false is no number, 1/0 no boolean (pydantic would convert)
                field = cls.model_fields.get(key)
                if field is None:
                    continue
                kind = str(field.annotation)
                if "bool" not in kind and _holds_bool(value):
                    shown, where = value, key
                    if isinstance(value, list) and any(isinstance(v, dict) for v in value):  # an array of tables
                        i = next(i for i, v in enumerate(value) if _holds_bool(v))
                        shown, where = value[i], f"{key}[{i}]"
                    expected = _expected_kind(field.annotation)
                    raise PydanticCustomError("bool_not_number", "{key}: found {value}",
                                              {"key": where, "value": _toml_text(shown),
                                               "expected": cls.allowed_forms.get(key, expected),
                                               "noun": expected.split()[-1] + "s"})
                if field.annotation is bool and not isinstance(value, bool):
                    raise PydanticCustomError("number_not_bool", "{key}: found {value}",
                                              {"key": key, "value": _toml_text(value)})
                where = _string_for_number(field.annotation, value)  # "30e9" is no number (pydantic would convert)
                if where is not None:
                    loc, shown = where
                    raise PydanticCustomError("string_not_number", "{key}: found {value}",
                                              {"key": key + loc, "value": repr(shown), "number": _is_number_text(shown),
                                               "expected": cls.allowed_forms.get(key, _expected_kind(field.annotation))})
        return data

    @model_validator(mode="after")
    def _read_only_containers(self):
        """Lists and dicts of a validated table become read-only (the model itself is frozen)."""
        for name in type(self).model_fields:
            value = self.__dict__.get(name)
            if isinstance(value, (list, dict)):
                object.__setattr__(self, name, _freeze(value))
        return self


def _expected_kind(annotation) -> str:
    """What a non-boolean field holds, in the words of an error message: ``a table`` (a
    table or a name -> table mapping), ``a string`` (names, choices, paths) or ``a number``."""
    import typing

    def walk(a):
        if isinstance(a, type) and issubclass(a, BaseModel):
            yield "table"
        elif typing.get_origin(a) is dict:
            yield "table"
        elif a is str or (typing.get_origin(a) is typing.Literal and all(isinstance(v, str) for v in typing.get_args(a))):
            yield "string"
        for arg in typing.get_args(a) if typing.get_origin(a) is not typing.Literal else ():
            yield from walk(arg)

    found = set(walk(annotation))
    return "a table" if "table" in found else ("a string" if found == {"string"} else "a number")


def _string_for_number(annotation, value):
    """Where ``value`` holds a string at a place where ``annotation`` allows only numbers:
    ``(location, string)`` (location relative to the key, e.g. ``"[0]"``), or None.

    pydantic's lax mode would read ``"30e9"`` as 30e9 and ``"2"`` as 2; a quoted number in a
    case file or ``--set`` is a string, refused like true / false for a number. Tables (models,
    name -> table mappings) are left to their own model; a union allows a string if one of its
    members does, and an array in a union is checked against the array members (the string
    is reported when no member holds it)."""
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _string_for_number(args[0], value)
    if annotation in (float, int):
        return ("", value) if isinstance(value, str) else None
    if origin in (typing.Union, types.UnionType):
        if isinstance(value, str):
            return None if any(_accepts_string(a) for a in args) else ("", value)
        if isinstance(value, (list, tuple)):
            found = [_string_for_number(a, value) for a in args
                     if typing.get_origin(a) in (list, tuple) or _is_annotated_array(a)]
            return found[0] if found and all(f is not None for f in found) else None
        return None
    if origin in (list, tuple) and isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if origin is tuple and args and args[-1] is not Ellipsis:
                if i >= len(args):
                    return None  # the length error is pydantic's
                item_type = args[i]
            else:
                item_type = args[0] if args else typing.Any
            found = _string_for_number(item_type, item)
            if found is not None:
                return (f"[{i}]{found[0]}", found[1])
    return None


def _is_number_text(text: str) -> bool:
    """Whether a string reads as a TOML number (``"30e9"``, ``"2"``): then the fault is the quotes."""
    import tomllib

    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return False
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_annotated_array(annotation) -> bool:
    import typing

    return typing.get_origin(annotation) is typing.Annotated and \
        typing.get_origin(typing.get_args(annotation)[0]) in (list, tuple)


def _accepts_string(annotation) -> bool:
    """Whether a union member takes a string (str, a Literal of strings, a table or anything else
    that is no number or array: the string is then pydantic's to judge)."""
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _accepts_string(args[0])
    if annotation in (float, int, bool, type(None)) or origin in (list, tuple):
        return False
    if origin is typing.Literal:
        return any(isinstance(a, str) for a in args)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts_string(a) for a in args)
    return True


def _holds_bool(value) -> bool:
    """Whether ``value`` is, or an array (nested) holds, true or false."""
    if isinstance(value, bool):
        return True
    return isinstance(value, (list, tuple)) and any(_holds_bool(v) for v in value)


def _toml_text(value) -> str:
    """A value as written in TOML (true / false in lower case)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_text(v) for v in value) + "]"
    return repr(value)


Plane = Literal["strain", "stress"]
Vec2 = tuple[float, float]


def _non_empty_path(value: str) -> str:
    """An input file's path: empty (or blank) is an error, not the case file's folder ('.' is a
    folder, not a file: the message before session 18)."""
    if not value.strip():
        raise ValueError("a file name, relative to the case file (not empty)")
    return value


#: the path of an input file (mesh, cover, data set, checkpoint), relative to the case file
FilePath = Annotated[str, AfterValidator(_non_empty_path)]


class LinearElasticSpec(Strict):
    """Isotropic linear elasticity."""

    law: Literal["linear_elastic"]
    E: float = Field(gt=0, description="Young's modulus [Pa]")
    nu: float = Field(gt=-1, lt=0.5, description="Poisson's ratio [-]")
    plane: Plane = Field("strain", description="plane strain or plane stress")
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3]")

    def _build(self) -> ConstitutiveLaw:
        return LinearElastic(self.E, self.nu, self.plane)


class PowerLawElasticSpec(Strict):
    """Power-law (Ramberg–Osgood-type) nonlinear elasticity, learned.PowerLawElastic."""

    law: Literal["power_law_elastic"]
    E: float = Field(gt=0, description="small-strain Young's modulus [Pa]")
    nu: float = Field(gt=-1, lt=0.5, description="Poisson's ratio [-]")
    strain0: float = Field(gt=0, description="reference equivalent strain [-]")
    exponent: float = Field(gt=0, le=1, description="hardening exponent n [-]")
    plane: Plane = "strain"
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3]")

    def _build(self) -> ConstitutiveLaw:
        return PowerLawElastic(self.E, self.nu, self.strain0, self.exponent, self.plane)


class J2PlasticitySpec(Strict):
    """Von Mises elastoplasticity with linear isotropic hardening, learned.J2Plasticity."""

    law: Literal["j2_plasticity"]
    E: float = Field(gt=0, description="Young's modulus [Pa]")
    nu: float = Field(gt=-1, lt=0.5, description="Poisson's ratio [-]")
    yield_stress: float = Field(gt=0, description="uniaxial yield stress σ_y [Pa]")
    hardening: float = Field(0.0, ge=0, description="linear isotropic hardening modulus H [Pa]")
    plane: Plane = "strain"
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3]")

    def _build(self) -> ConstitutiveLaw:
        from learned.plasticity import J2Plasticity

        return J2Plasticity(self.E, self.nu, self.yield_stress, self.hardening, self.plane)


class DruckerPragerSpec(Strict):
    """Drucker–Prager elastoplasticity with a hyperbolic apex, learned.DruckerPrager."""

    law: Literal["drucker_prager"]
    E: float = Field(gt=0, description="Young's modulus [Pa]")
    nu: float = Field(gt=-1, lt=0.5, description="Poisson's ratio [-]")
    cohesion: float = Field(gt=0, description="cohesion c [Pa]")
    friction_angle: float = Field(ge=0, lt=90, description="friction angle φ [deg]")
    dilatancy_angle: float | None = Field(None, ge=0, lt=90, description="dilatancy angle ψ ≤ φ [deg]; default φ")
    hardening: float = Field(0.0, ge=0, description="cohesion hardening modulus H [Pa]; 0 when ψ < φ")
    apex_smoothing: float | None = Field(None, gt=0, description="hyperbolic apex δ [Pa]; default 0.1 ξ c")
    plane: Plane = "strain"
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3]")

    @model_validator(mode="after")
    def _consistent(self) -> "DruckerPragerSpec":
        try:  # the law's own checks (ψ ≤ φ, ψ < φ only without hardening, δ < ξ c)
            self._build()
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return self

    def _build(self) -> ConstitutiveLaw:
        from learned.plasticity import DruckerPrager

        return DruckerPrager(self.E, self.nu, self.cohesion, self.friction_angle, self.dilatancy_angle,
                             self.hardening, self.apex_smoothing, self.plane)


#: laws with internal state (history): not a path-independent manifold {(ε, f(ε))}
HISTORY_LAWS = ("j2_plasticity", "drucker_prager")


#: what a run does when a learned law was evaluated outside its training data
OutOfDistribution = Literal["warn", "error", "ignore"]


class CheckpointLawSpec(Strict):
    """A trained network (``deepmanifold train``) as the material: learned.NeuralLaw."""

    law: Literal["checkpoint"]
    path: FilePath = Field(description="checkpoint file, relative to the case file")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="where the network runs")
    plane: Plane | None = Field(None, description="the plane the network was trained in (recorded in the "
                                "checkpoint); given, it must match the checkpoint")
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3]")
    out_of_distribution: OutOfDistribution = Field(
        "warn", description="strains outside the training data: warn (summary + console), error (exit 2), ignore")


MaterialSpec = Annotated[Union[LinearElasticSpec, PowerLawElasticSpec, J2PlasticitySpec, DruckerPragerSpec, CheckpointLawSpec],
                        Field(discriminator="law")]


def load_checkpoint_law(case, path_text: str, device: str, key: str, kind: str,
                        out_of_distribution: str = "warn"):
    """Load a learned law named by a case file; errors name the case file and key path.

    ``case`` None (a command-line option): the path is relative to the working directory.
    ``key`` is the key path of the checkpoint's ``path``; with a case the law is registered on
    it (``case.learned_laws[table key] = (law, out_of_distribution)``) so that the run reports
    its out-of-distribution counts (:func:`coupling.runner.run`), whichever solver used it.
    """
    from pathlib import Path

    from coupling.errors import CaseError
    from learned.checkpoint import load_law
    from learned.errors import CheckpointError

    from coupling.validation import check_device

    def error(found: str, allowed: str = "") -> CaseError:
        return case.error(key, found, allowed) if case is not None else CaseError(None, key, found, allowed)

    check_device(str(case.path) if case is not None else key, device, key.rsplit(".", 1)[0] + ".device")
    path = case.resolve(path_text) if case is not None else Path(path_text)
    if not path.is_file():
        from learned.files import missing_file

        raise error(missing_file(path, f"model '{path}'"), "a checkpoint written by 'deepmanifold train'")
    try:
        law = load_law(path, device=device)
    except CheckpointError as exc:
        raise error(exc.line())
    if isinstance(law, ConstitutiveLaw) != (kind == "constitutive"):
        raise error(f"'{path}' holds a {'joint' if kind == 'constitutive' else 'constitutive'} model",
                    f"a {kind} checkpoint")
    if case is not None:
        case.learned_laws[key.rsplit(".", 1)[0]] = (law, out_of_distribution)
    return law


def build_law(case, spec, key: str = "material") -> ConstitutiveLaw:
    """The ConstitutiveLaw of a material table: the one builder every solver uses.

    Analytic laws are built from their keys; a checkpoint is loaded relative to the case
    file (``case`` None: relative to the working directory). Errors name ``key``.
    """
    if isinstance(spec, CheckpointLawSpec):
        law = load_checkpoint_law(case, spec.path, spec.device, f"{key}.path", "constitutive",
                                  spec.out_of_distribution)
        trained = getattr(law, "plane", None)
        if spec.plane is not None and trained is not None and spec.plane != trained:
            from coupling.errors import CaseError

            found = f"found {spec.plane!r}; the checkpoint was trained in plane {trained}"
            raise (case.error(f"{key}.plane", found, trained) if case is not None
                   else CaseError(None, f"{key}.plane", found, trained))
        return law
    return spec._build()


def material_planes(case, learned_laws: dict | None = None) -> dict[str, str]:
    """The plane (``"strain"`` | ``"stress"``) of every material table of a case, by key path
    (``material``, ``materials.rock``, ``data.law``, …), as the run used it: an analytic law's
    ``plane`` (default ``"strain"`` when omitted), a checkpoint's trained plane (from the loaded
    law in ``learned_laws``, else its ``plane`` key). Recorded in summary.json (``case.planes``)."""
    from pydantic import BaseModel

    laws = learned_laws or {}
    out: dict[str, str] = {}

    def walk(node, key: str) -> None:
        if isinstance(node, CheckpointLawSpec):
            law = laws.get(key, (None,))[0]
            plane = getattr(law, "plane", None) or node.plane
            if plane is not None:
                out[key] = plane
        elif isinstance(node, BaseModel) and "plane" in type(node).model_fields:  # analytic laws, stiffness
            out[key] = node.plane
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name), f"{key}.{name}" if key else name)
        elif isinstance(node, dict):
            for name, value in node.items():
                walk(value, f"{key}.{name}")
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f"{key}[{i}]")

    walk(case.spec, "")
    return out


class DiscSpec(Strict):
    """A disc of the plane: centre [m] and radius [m] (``output.stress_maxima_exclude``)."""

    center: Vec2 = Field(description="centre [m]")
    radius: PositiveFloat = Field(description="radius [m]")


class OutputSpec(Strict):
    """What a run writes besides summary.json."""

    fields: bool = Field(True, description="field files for ParaView")
    plots: bool = Field(True, description="PNG plots")
    displacement: bool = Field(False, description="FEM: the displacement at every node as displacement.npz "
                                                  "(node coordinates and values, sorted by coordinates: "
                                                  "independent of the partition); NMM: the cover DOFs "
                                                  "(cover vertex coordinates and coefficients); for field surrogates")
    deformation_scale: float | None = Field(
        None, gt=0, description="displacement magnification in plots (auto when omitted)"
    )
    stress_maxima_exclude: list[DiscSpec] = Field(
        [], description="discs left out of the reported stress maxima (results.max_von_mises, "
                        "results.joints[].max_normal_stress): each maximum is taken over the cells "
                        "(FEM, data-driven) / manifold elements (NMM) that lie wholly outside every disc "
                        "and the joint points outside every disc; for singular points (a load's edge, a "
                        "crack tip) and cells a curved wall cuts, where a point stress does not converge "
                        "(coupling.runners.reporting.outside_discs)")


class RestartOutputSpec(OutputSpec):
    """``[output]`` of a case with a time-step loop (DDA, dynamic NMM): the shared options and
    restart checkpoints (coupling.restart)."""

    restart_every_steps: int | None = Field(
        None, ge=1, description="write restart.h5 after every n-th accepted step (omitted: not by steps)")
    restart_every_seconds: PositiveFloat | None = Field(
        None, description="write restart.h5 when this much wall-clock time [s] has passed since the last "
                          "(omitted: not by time)")


class LimitsSpec(Strict):
    """Largest problem a run may allocate (coupling.limits estimates it before allocation)."""

    max_cells: int = Field(5_000_000, ge=1, description="mesh cells / NMM cover cells")
    max_blocks: int = Field(200_000, ge=1, description="DDA blocks, explicit and cut from domains")
    max_memory_gb: float | None = Field(None, gt=0, description="estimated memory of the solve [GB = 1e9 bytes]; "
                                        "default the memory of this machine")


def support_gap(supports) -> str | None:
    """What a static run's supports leave free, or None. ``supports``: (ux, uy, point) per
    support, ux/uy the prescribed displacements [m] (None: that component is free), point the
    location [m] of a point support (None: a boundary or a segment). Found free: a direction no
    support holds (no ux anywhere: the body slides in x), or a rotation about the one point that
    all supports share (only point supports, at a single place). A static solve of such a body
    is singular; supports that hold x, y and the rotation are not checked further (a boundary
    line holding one component may still leave a rotation free where it is straight and
    parallel to that component: not detected)."""
    if not supports:
        return None
    if all(ux is None for ux, _, _ in supports):
        return "no support holds ux (the body could slide in x: the static solve is singular)"
    if all(uy is None for _, uy, _ in supports):
        return "no support holds uy (the body could slide in y: the static solve is singular)"
    points = [None if p is None else tuple(p) for _, _, p in supports]
    if all(p is not None for p in points) and len(set(points)) == 1:
        return (f"point supports at one place only, {list(points[0])} (the body could rotate about it: "
                "the static solve is singular)")
    return None



def refuse_support_gap(supports, key: str, allowed: str) -> None:
    """Raise the case error "KEY: found GAP; allowed: ALLOWED" when :func:`support_gap` finds
    one (the FEM, data-driven and NMM static schemas)."""
    gap = support_gap(supports)
    if gap:
        raise PydanticCustomError("value_error", "{key}: found {value}; allowed: {allowed}",
                                  {"key": key, "value": gap, "allowed": allowed})


def refuse_limits(spec, keys: tuple[str, ...], allowed: str) -> None:
    """``[limits]`` keys a case kind does not apply (DDA: max_cells, max_memory_gb; the others:
    max_blocks) are errors when given, not accepted and ignored (before session 18)."""
    for key in keys:
        if key in spec.limits.model_fields_set:
            raise PydanticCustomError("value_error", "{key}: found {value}; allowed: {allowed}",
                                      {"key": f"limits.{key}", "value": repr(getattr(spec.limits, key)),
                                       "allowed": allowed})


class CaseSpec(Strict):
    """Keys every case file has."""

    title: str
    description: str = ""
    accuracy: str = Field("", description="how accurate the reported quantities are, against what "
                                          "(a reference or a refined run); echoed in summary.json")
    accuracy_studies: str = Field("", description="the studies behind accuracy: their commands, figures and what "
                                                  "was tried and not adopted (summary.json case.input)")
    solver: str
    not_resolved: tuple[str, ...] = Field(
        (), description="results (top-level keys of summary.json's results) the case computes but does not "
                        "resolve to 2 % (accuracy says by how much they move): written under summary.json's "
                        "not_resolved instead of results, printed apart and marked in the plots")
    output: OutputSpec = OutputSpec()
    limits: LimitsSpec = LimitsSpec()

    @field_validator("not_resolved")
    @classmethod
    def _known_results(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Each ``not_resolved`` entry is a result the case's solver reports, named once."""
        from coupling.output.units import SOLVER_RESULTS

        solver = info.data.get("solver", "")
        allowed = SOLVER_RESULTS.get(solver, ())
        for i, name in enumerate(value):
            if name not in allowed:
                raise ValueError(f"results of a {solver} run, each once ({name!r} is not one): " + ", ".join(allowed))
            if name in value[:i]:
                raise ValueError(f"results of a {solver} run, each once ({name!r} is named twice)")
        return value


class FixedPointSpec(Strict):
    """The fixed-point engine (coupling.solvers.fixed_point), configured by name."""

    method: Literal["constant", "aitken", "anderson"] = Field("anderson", description="acceleration scheme")
    relaxation: float = Field(1.0, gt=0, le=2, description="ω of constant relaxation, β of Anderson, ω₀ of Aitken")
    depth: int = Field(5, ge=1, le=50, description="Anderson history length m")
    rtol: float = Field(1e-8, gt=0, lt=1, description="stop when ‖G(x) − x‖ / ‖G(x)‖ ≤ rtol")
    max_iterations: int = Field(200, ge=1)

    def build(self):
        """The accelerator (coupling.solvers.fixed_point) named by ``method``."""
        from coupling.solvers.fixed_point import make_accelerator

        if self.method == "anderson":
            return make_accelerator("anderson", depth=self.depth, beta=self.relaxation)
        if self.method == "aitken":
            return make_accelerator("aitken", omega0=self.relaxation)
        return make_accelerator("constant", omega=self.relaxation)


# ---------------------------------------------------------------------------- joint laws
Angle = Annotated[float, Field(ge=0, lt=90, description="friction angle [deg]")]


class _JointLawBase(Strict):
    cohesion: float = Field(0.0, ge=0, description="cohesion c [Pa] (lost once the joint opens or slides)")
    tensile_strength: float = Field(0.0, ge=0, description="tensile strength T [Pa] (lost once broken)")


class CoulombSpec(_JointLawBase):
    """Mohr–Coulomb joint, constant friction: τ_max = c + tan(φ) σ_n (learned.CoulombFriction)."""

    kind: Literal["coulomb"]
    phi: Angle

    def _build(self):
        from learned import CoulombFriction

        return CoulombFriction(self.phi, self.cohesion, self.tensile_strength)


class _WeakeningSpec(_JointLawBase):
    phi_peak: Angle
    phi_residual: Angle

    @model_validator(mode="after")
    def _order(self):
        if self.phi_residual > self.phi_peak:
            raise ValueError(f"phi_residual ({self.phi_residual}) must not exceed phi_peak ({self.phi_peak})")
        return self


class DisplacementWeakeningSpec(_WeakeningSpec):
    """μ = μ_r + (μ_p − μ_r) exp(−slip / slip_c) (learned.DisplacementWeakeningFriction)."""

    kind: Literal["displacement_weakening"]
    slip_c: float = Field(gt=0, description="characteristic slip d_c [m]")

    def _build(self):
        from learned import DisplacementWeakeningFriction

        return DisplacementWeakeningFriction(self.phi_peak, self.phi_residual, self.slip_c,
                                             self.cohesion, self.tensile_strength)


class VelocityWeakeningSpec(_WeakeningSpec):
    """μ = μ_r + (μ_p − μ_r) exp(−|v| / v_c) (learned.VelocityWeakeningFriction)."""

    kind: Literal["velocity_weakening"]
    v_c: float = Field(gt=0, description="characteristic slip rate [m/s]")

    def _build(self):
        from learned import VelocityWeakeningFriction

        return VelocityWeakeningFriction(self.phi_peak, self.phi_residual, self.v_c,
                                         self.cohesion, self.tensile_strength)


class ThermalPressurisationSpec(_WeakeningSpec):
    """τ = c + μ(v)·max(σ_n − p, 0) with shear heating and pore pressure in a band of
    thickness h (learned.ThermalPressurisationFriction; equations in its module docstring)."""

    kind: Literal["thermal_pressurisation"]
    v_c: float = Field(gt=0, description="characteristic slip rate of mu(v) [m/s]")
    band_thickness: float = Field(gt=0, description="shear band thickness h [m]")
    heat_capacity: float = Field(gt=0, description="volumetric heat capacity rho*c [J/(m^3 K)]")
    pressurisation: float = Field(gt=0, description="undrained pore-pressure rise per kelvin Lambda [Pa/K]")
    hydraulic_diffusivity: float = Field(0.0, ge=0, description="alpha_hy [m^2/s]; lumped: drainage time h^2/alpha_hy "
                                         "(0: undrained); diffusion: the pore-pressure diffusivity")
    band_model: Literal["lumped", "diffusion"] = Field(
        "lumped", description="lumped: adiabatic band, drainage as a relaxation; diffusion: 1D heat and pore-fluid "
                              "diffusion across the band into the wall rock (Rice 2006)")
    thermal_diffusivity: float = Field(0.0, ge=0, description="alpha_th [m^2/s] (band_model = diffusion)")
    diffusion_time: float = Field(120.0, gt=0, description="[s] the diffusion grid reaches 6 sqrt(alpha t) beyond the "
                                                           "band (band_model = diffusion)")

    @model_validator(mode="after")
    def _diffusion_keys(self):
        if self.band_model == "lumped" and self.thermal_diffusivity > 0:
            raise ValueError(f"found thermal_diffusivity = {self.thermal_diffusivity} with band_model = 'lumped' "
                             "(an adiabatic band); allowed: band_model = 'diffusion', or thermal_diffusivity = 0")
        if self.band_model == "diffusion":  # the law's grid reaches 6 sqrt(alpha t) beyond the band in MAX_CELLS cells
            from learned.thermal_pressurisation import CELL_GROWTH, CELLS_IN_BAND, MAX_CELLS, band_grid

            alpha = max(self.thermal_diffusivity, self.hydraulic_diffusivity)
            try:
                band_grid(self.band_thickness, alpha, self.diffusion_time, CELLS_IN_BAND, CELL_GROWTH)
            except ValueError:
                raise ValueError(f"found diffusion_time = {self.diffusion_time:g} s with diffusivity {alpha:g} m^2/s: "
                                 f"the diffusion grid would need more than {MAX_CELLS} cells to reach 6 sqrt(alpha t) = "
                                 f"{6.0 * math.sqrt(alpha * self.diffusion_time):.3g} m beyond a band of "
                                 f"{self.band_thickness:g} m; allowed: a shorter diffusion_time or smaller diffusivities "
                                 f"(the grid: {CELLS_IN_BAND} cells in the half band, growing by {CELL_GROWTH:g})") from None
        return self

    def _build(self):
        from learned import ThermalPressurisationFriction

        return ThermalPressurisationFriction(self.phi_peak, self.phi_residual, self.v_c, self.band_thickness,
                                             self.heat_capacity, self.pressurisation, self.hydraulic_diffusivity,
                                             self.cohesion, self.tensile_strength, band_model=self.band_model,
                                             thermal_diffusivity=self.thermal_diffusivity,
                                             diffusion_time=self.diffusion_time)


#: A joint law (shear strength of a discontinuity), chosen by ``kind``; ``build_joint_law``
#: gives the learned.JointLaw. Shared by every solver with joints (NMM, DDA).
class CheckpointJointSpec(Strict):
    """A trained friction network (``deepmanifold train`` on a joint data set)."""

    kind: Literal["checkpoint"]
    path: FilePath = Field(description="checkpoint file, relative to the case file")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    out_of_distribution: OutOfDistribution = Field(
        "warn", description="slips / slip rates outside the training data: warn, error (exit 2), ignore")


JointLawSpec = Annotated[Union[CoulombSpec, DisplacementWeakeningSpec, VelocityWeakeningSpec, ThermalPressurisationSpec,
                               CheckpointJointSpec],
                         Field(discriminator="kind")]


def build_joint_law(case, spec, key: str):
    """The learned.JointLaw of a joint table: the one builder every solver with joints uses.

    Analytic laws from their keys; a checkpoint relative to the case file (``case`` None:
    relative to the working directory).
    """
    if isinstance(spec, CheckpointJointSpec):
        return load_checkpoint_law(case, spec.path, spec.device, f"{key}.path", "joint",
                                   spec.out_of_distribution)
    return spec._build()
