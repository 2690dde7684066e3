"""Where the water drag of a Vajont case goes: the work of dda.water_drag on the slide, against
the rock's potential-energy release and its peak kinetic energy (issue 14, session 12).

    python benchmarks/vajont_water_drag.py [--case cases/vajont.toml] [--cd 1.0] [--cf 0.0025]
        [--shield 2 10 30] [--run-shield M] [--out JSON]

Steps the case (dda.Simulation on coupling's system, as tools/dda_bitwise.py does) and sums
W = Σ P(V₀) Δt over the dynamic steps, P the drag power Σ f·v of the start-of-step state (the
load the solver applied, dda/water_drag.py). With ``--shield`` it also sums what the drag would
do with faces within that distance [m] of another block counted dry (a diagnostic of the same
run: the solver keeps the contact distance d0). With ``--run-shield M`` the run itself uses M m
(the shielding distance replaced in dda.simulation for this process; not a case key) and the
case's summary figures (peak, run-out, run-up, onset to rest) are printed from coupling.run.
The figures and commands of session 12 are in the headers of cases/vajont.toml and
cases/vajont_10block.toml.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def energy(case_path: str, cd: float, cf: float, shields: list[float]) -> dict:
    """Drag work [J/m] (and with each shielding distance), rock potential-energy release and peak KE."""
    from mpi4py import MPI  # noqa: F401  (before dolfinx: libmpi)

    import coupling
    import dda
    from coupling.runners.dda_model import build_system
    from dda.water_drag import water_drag_loads

    case = coupling.load_case(case_path, {"water.drag_coefficient": cd, "water.skin_friction": cf})
    spec = case.spec
    built = build_system(case)
    sim = dda.Simulation(built.system, dda.Settings(**spec.dda.model_dump(), gravity=tuple(spec.gravity)))
    w, free = built.system.water, ~np.asarray(built.system.fixed)
    rho = np.asarray(built.density)[free]  # kg/m³ of each free block
    g = float(np.linalg.norm(spec.gravity))
    work, work_shield, ke_max, z0 = 0.0, np.zeros(len(shields)), 0.0, None
    while sim.state.time < spec.dda.duration * (1 - 1e-12):
        polys, props = sim.geometry()
        p = np.zeros(1 + len(shields))
        if not sim.settling():
            if z0 is None:
                z0 = float(np.sum(props.area[free] * rho * props.centroid[free, 1]))
            for k, eps in enumerate([sim.d0, *shields]):
                p[k] = water_drag_loads(polys, free, w(sim.state.time), w.density, w.drag_coefficient, w.skin_friction,
                                        props.centroid, sim.state.velocity, np.zeros((polys.nb, 6)), eps)
        info = sim.step()
        work += p[0] * info.dt
        work_shield += p[1:] * info.dt
        ke_max = max(ke_max, sim.history_row()[3])
    props = sim.geometry()[1]
    release = g * (z0 - float(np.sum(props.area[free] * rho * props.centroid[free, 1])))
    return {"case": case_path, "drag_coefficient": cd, "skin_friction": cf, "drag_work_J_per_m": -work,
            "potential_energy_release_J_per_m": release, "peak_kinetic_energy_J_per_m": ke_max,
            "drag_share_of_release": -work / release, "drag_share_of_peak_ke": -work / ke_max,
            "shield_m": shields, "drag_share_of_release_shielded": [-x / release for x in work_shield]}


def run_shielded(case_path: str, cd: float, cf: float, eps: float) -> dict:
    """The case through coupling.run with the drag's shielding distance replaced by eps [m]."""
    from mpi4py import MPI  # noqa: F401

    import coupling
    import dda.simulation as S
    from dda.water_drag import water_drag_loads

    S.water_drag_loads = lambda *a: water_drag_loads(*a[:-1], eps)
    case = coupling.load_case(case_path, {"water.drag_coefficient": cd, "water.skin_friction": cf})
    from coupling.runner import computed_results

    r = computed_results(coupling.run(case, None, force=True).summary)
    return {"case": case_path, "drag_coefficient": cd, "skin_friction": cf, "shield_m": eps,
            **{k: r.get(k) for k in ("peak_velocity", "runout", "runup", "duration")}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default=str(ROOT / "cases" / "vajont.toml"))
    ap.add_argument("--cd", type=float, default=1.0)
    ap.add_argument("--cf", type=float, default=0.0025)
    ap.add_argument("--shield", type=float, nargs="*", default=[])
    ap.add_argument("--run-shield", type=float, default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.run_shield is not None:
        rep = run_shielded(a.case, a.cd, a.cf, a.run_shield)
    else:
        rep = energy(a.case, a.cd, a.cf, a.shield)
    print(json.dumps(rep, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(rep, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
