"""The unit of every quantity in summary.json's ``results``, one table for every solver.

summary.json carries them as ``units``: a flat map from the path of each numeric result to its
unit, where a path joins keys with dots and marks the entries of a list of records with ``[]``
(they share the unit): ``peak_velocity`` → ``m/s``, ``probes.tip_deflection.value`` → ``m``,
``sif[].KI`` → ``Pa·m^0.5``. ``-`` is a dimensionless number or a count. The console summary of
``run`` prints the same units after the values.

A probe's value, reference and peak take the unit of its ``quantity`` (:data:`PROBE_UNITS`:
displacements ux, uy [m], stresses sxx, syy, sxy, von_mises [Pa]); so do the probe histories
of ``load_displacement.probes``. tests/test_output_readers.py and tests/test_field_files.py
check, for every shipped case, that every numeric result has a unit here.
"""

from __future__ import annotations

from typing import Any

#: unit of a probe's quantity (coupling.output.probes.QUANTITIES)
PROBE_UNITS = {"ux": "m", "uy": "m", "sxx": "Pa", "syy": "Pa", "sxy": "Pa", "von_mises": "Pa"}

#: unit by the last key of a result's path (the same name means the same quantity everywhere)
KEY_UNITS = {
    # continuum solvers (FEM, NMM, data-driven)
    "converged_load_factor": "-", "load_factor": "-", "max_abs_displacement": "m", "max_von_mises": "Pa",
    "plot_deformation_scale": "-", "relative_residual": "-", "distance_to_data": "Pa^0.5",
    "point": "m", "relative_error": "-", "time_of_peak": "s", "simulated_time": "s",
    "center": "m", "radius": "m", "cells_excluded": "-", "joint_points_excluded": "-",
    # NMM cracks: stress intensity factors, J-integral, the integration annulus
    "crack": "-", "tip": "m", "KI": "Pa·m^0.5", "KII": "Pa·m^0.5", "reference_KI": "Pa·m^0.5",
    "reference_KII": "Pa·m^0.5", "relative_error_KI": "-", "relative_error_KII": "-", "J": "J/m^2",
    "r_in": "m", "r_out": "m",
    # NMM joints and holes
    "points": "-", "open": "-", "stick": "-", "slide": "-", "max_slip": "m", "max_slip_sliding": "m",
    "max_opening": "m", "max_normal_stress": "Pa", "hole": "-", "horizontal_convergence": "m",
    "vertical_convergence": "m", "crown_displacement": "m", "invert_displacement": "m",
    "max_inward_displacement": "m",
}

#: DDA's results: the monitored group (mass-weighted), the run, the trigger, the thermal-pressurisation band
DDA_UNITS = {
    "monitored_blocks": "-", "slide_area_m2": "m^2", "peak_velocity": "m/s", "time_of_peak": "s", "runout": "m",
    "max_runout": "m", "drop": "m", "time_to_rest": "s", "final_velocity": "m/s", "front_x_final": "m", "blocks": "-",
    "slivers_removed": "-", "simulated_time": "s", "onset_time": "s", "duration": "s", "settle_time": "s", "runup": "m",
    "onset_friction_deg": "deg", "trigger_held_time": "s",
    "band_temperature_rise_slide": "K", "band_pore_pressure_slide": "Pa", "band_temperature_rise_slide_max": "K",
    "band_pore_pressure_ratio_slide_max": "-",
}
KEY_UNITS.update(DDA_UNITS)

#: the results a case may name in its ``not_resolved`` key, per solver: the top-level keys of its
#: summary.json ``results`` that hold computed quantities (not the echoes of settings such as
#: ``stress_maxima_exclude``; coupling.case.common.CaseSpec.not_resolved)
SOLVER_RESULTS: dict[str, tuple[str, ...]] = {
    "dda": tuple(DDA_UNITS),
    "fem": ("probes", "max_abs_displacement", "max_von_mises", "load_displacement"),
    "nmm": ("probes", "max_abs_displacement", "max_von_mises", "relative_residual", "sif", "joints", "holes",
            "load_displacement"),
    "data_driven": ("probes", "max_abs_displacement", "max_von_mises", "converged_load_factor", "load_displacement"),
}


def _numeric(value: Any) -> bool:
    """A number, None (a quantity not reached, e.g. time_to_rest) or a list of those."""
    if isinstance(value, bool):
        return False
    if value is None or isinstance(value, (int, float)):
        return True
    return isinstance(value, list) and all(_numeric(v) for v in value)


def _probe_quantity(results: dict, name: str) -> str | None:
    probe = results.get("probes", {}).get(name)
    return probe.get("quantity") if isinstance(probe, dict) else None


def result_units(results: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """(units, missing): the unit of every numeric result path (see the module docstring), and the
    numeric paths this table has no unit for (empty for every shipped case; tested)."""
    units: dict[str, str] = {}
    missing: list[str] = []

    def walk(value: Any, path: list[str]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + [str(k)])
            return
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for v in value:
                walk(v, path[:-1] + [path[-1] + "[]"])
            return
        if not _numeric(value) or not path:
            return
        key = ".".join(path)
        unit = None
        if path[0] == "probes" and len(path) == 3 and path[2] in ("value", "reference", "peak"):
            unit = PROBE_UNITS.get(str(_probe_quantity(results, path[1])))
        elif path[:2] == ["load_displacement", "probes"] and len(path) == 3:
            unit = PROBE_UNITS.get(str(_probe_quantity(results, path[2])))
        else:
            unit = KEY_UNITS.get(path[-1].removesuffix("[]"))
        if unit is None:
            missing.append(key)
        else:
            units[key] = unit

    walk(results, [])
    return units, missing


def unit_text(unit: str | None) -> str:
    """`` unit`` to print after a value (nothing for dimensionless numbers and counts)."""
    return "" if unit in (None, "-") else f" {unit}"
