"""Bitwise check of the DDA solver across a code change (performance work must not move a bit).

    python tools/dda_bitwise.py save  FILE.npz [--problems incline grid10 vajont]
    python tools/dda_bitwise.py check FILE.npz [--problems ...]

Runs short excerpts of three problems and records every history array of the result
(time, dt, centroid, velocity, rotation, kinetic energy, contact counts, open–close
iterations), the final vertex coordinates, velocities, stresses, the final contact state
(every field of dda.openclose.ContactState) and the solve count:

* ``incline``: benchmarks/dda_vs_ntdda.py's 2-block incline, 200 steps (0.4 s);
* ``grid10``: its 10 × 10 stack on a base (101 blocks), 40 steps (PETSc block LU);
* ``grid30``: its 30 × 30 stack (901 blocks), 6 steps (MUMPS);
* ``vajont``: cases/vajont.toml (2 blocks, thermally pressurised slip band, water) to
  t = 10.3 s: the 200 static settling steps and 60 dynamic steps of the event;
* ``vajont_full`` (≈ 20 s) and ``vajont_dt4`` (≈ 70 s): the whole 70 s run, as shipped and
  with Δt and g2 quartered (benchmarks/vajont_resolution.py's ``time/4``). Not in the default
  set; run them for any change to contact, impact or step-control code: the impacts on the
  north flank start at t ≈ 26 s, and a change that left the first 10.3 s bitwise equal moved
  the refined runs from 27.6 s on (session 10's 81f0e07, found in session 15).

``save`` writes them; ``check`` reruns and compares with ``np.array_equal`` (exact: NaN
only equals NaN where both are NaN), printing the first array that differs; exit 1 on any
difference. Kept out of the test suite: it is a tool for changes that claim bitwise
unchanged results.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


#: the Vajont excerpts: name -> overrides of cases/vajont.toml, or the variant of
#: benchmarks/vajont_resolution.py whose overrides it takes
VAJONT = {"vajont": {"dda.duration": 10.3}, "vajont_full": {}, "vajont_dt4": "time/4"}


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _bench():
    return _benchmark("dda_vs_ntdda")


def simulate(problem: str):
    from mpi4py import MPI  # noqa: F401  (before dolfinx: libmpi)

    import dda

    if problem in ("incline", "grid10", "grid30"):
        system, kw, _ = _bench().build(problem)
        steps = {"incline": 200, "grid10": 40, "grid30": 6}[problem]
        sim = dda.Simulation(system, dda.Settings(duration=steps * kw["dt"], **kw))
    elif problem in VAJONT:
        import coupling
        from coupling.runners.dda_model import build_system

        path, sets = ROOT / "cases" / "vajont.toml", VAJONT[problem]
        if isinstance(sets, str):
            sets = _benchmark("vajont_resolution").variants(str(path))[sets]
        case = coupling.load_case(path, sets)
        spec = case.spec
        built = build_system(case)
        sim = dda.Simulation(built.system, dda.Settings(**spec.dda.model_dump(), gravity=tuple(spec.gravity)))
    else:
        raise SystemExit(f"error: --problems: {problem}; allowed: incline, grid10, grid30, {', '.join(VAJONT)}")
    res = sim.solve()
    out = {}
    for name in ("time", "dt", "centroid", "velocity", "rotation", "kinetic_energy", "n_open", "n_sliding", "n_locked",
                 "oc_iterations"):
        out[f"history.{name}"] = np.asarray(getattr(res, name))
    st = sim.state
    for name in ("xy", "velocity", "strain", "stress", "rotation", "points"):
        out[f"state.{name}"] = np.asarray(getattr(st, name))
    for f in fields(st.contacts):
        out[f"contacts.{f.name}"] = np.asarray(getattr(st.contacts, f.name))
    for m, a in st.law_state.items():
        out[f"law_state.{m}"] = np.asarray(a)
    out["solves"] = np.array(sim.solver.n_solves)
    out["steps"] = np.array(st.step)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["save", "check"])
    ap.add_argument("file")
    ap.add_argument("--problems", nargs="+", default=["incline", "grid10", "grid30", "vajont"])
    a = ap.parse_args()
    got = {f"{p}/{k}": v for p in a.problems for k, v in simulate(p).items()}
    if a.mode == "save":
        np.savez(a.file, **got)
        print(f"saved {len(got)} arrays to {a.file}")
        return 0
    ref = dict(np.load(a.file))
    bad = []
    for k in sorted(set(ref) | set(got)):
        if k.split("/")[0] not in a.problems:
            continue
        if k not in ref or k not in got:
            bad.append(f"{k}: only in {'the reference' if k in ref else 'this run'}")
        elif ref[k].shape != got[k].shape or ref[k].dtype != got[k].dtype:
            bad.append(f"{k}: shape/dtype {ref[k].shape}/{ref[k].dtype} -> {got[k].shape}/{got[k].dtype}")
        elif not np.array_equal(ref[k], got[k], equal_nan=ref[k].dtype.kind == "f"):
            diff = np.abs(ref[k].astype(float) - got[k].astype(float))
            bad.append(f"{k}: differs (max |diff| {np.nanmax(diff):.3e})")
    print("\n".join(bad) if bad else f"bitwise identical: {len(got)} arrays ({', '.join(a.problems)})")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
