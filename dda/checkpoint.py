"""Everything a DDA step loop carries, as a flat mapping name → numpy array (and back).

:func:`snapshot` takes a :class:`dda.Simulation` after an accepted step and returns
``{name: ndarray}`` (scalars as 0-d arrays, names with ``/`` as groups), which a caller can
write to HDF5 or ``.npz`` (no pickle: only numeric arrays and UTF-8 text). :func:`restore`
puts it back into a freshly built Simulation of the same block system, so that continuing
gives bit-for-bit the steps an uninterrupted run computes:

* ``state/…``    the accepted :class:`dda.State` — vertices xy (nv,2) [m], velocity (nb,6),
  strain (nb,3), stress (nb,3) [Pa], tangent (nb,3,3) [Pa], rotation (nb,) [rad],
  centroid0 (nb,2) [m], tracked points (np,2) [m], time [s], step, the next Δt [s] (the
  step control's state) and the penalty p_n [N/m] (raised by the penetration control);
  ``state/law_state/<material>`` the constitutive laws' state; ``state/vertex_band`` the
  joint-law state each vertex last carried (absent in checkpoints before session 20: zeros);
* ``contacts/…`` the contact history :class:`dda.openclose.ContactState` (key = contact
  identity, state, sign, stretch [m], forces [N], bonded, slip [m], slip rate [m/s], vertex,
  joint-law state (nc,S), e.g. band temperature and pore pressure);
* ``last_contacts/…`` the contacts of the last step (drawn in the last frame);
* ``history/…`` the recorded series of :class:`dda.result.Result` (time, dt, centroid, …);
* ``stats/…`` the running statistics, ``solver/…`` the linear solver's counters;
  ``impact_hold`` the step cap of an impact on a band under way (until [s], cap [s]);
* ``writer/…`` the frames written so far (times and file names) and the snapshot frames.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np

from dda.contact_detect import Contacts
from dda.openclose import ContactState
from dda.state import State

if TYPE_CHECKING:  # pragma: no cover
    from dda.simulation import Simulation

_STATE_ARRAYS = ("xy", "velocity", "strain", "stress", "tangent", "rotation", "centroid0", "points")
_STATE_SCALARS = ("time", "step", "dt", "penalty")
_HISTORY = ("time", "dt", "centroid", "velocity", "rotation", "kinetic_energy", "n_open", "n_sliding", "n_locked",
            "oc_iterations")


def _text(value: Any) -> np.ndarray:
    """JSON text as a 0-d unicode array (HDF5 and npz store it as a string, never a pickle)."""
    return np.array(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def _untext(a: np.ndarray) -> Any:
    v = a.item() if isinstance(a, np.ndarray) else a
    return json.loads(v.decode() if isinstance(v, bytes) else v)


def snapshot(sim: "Simulation") -> dict[str, np.ndarray]:
    """The step loop's state after the last accepted step (see the module docstring)."""
    st = sim.global_state()  # the whole state (gathered from the ranks; collective)
    out: dict[str, np.ndarray] = {}
    for name in _STATE_ARRAYS:
        out[f"state/{name}"] = np.asarray(getattr(st, name))
    for name in _STATE_SCALARS:
        out[f"state/{name}"] = np.asarray(getattr(st, name))
    for m, a in st.law_state.items():
        out[f"state/law_state/{int(m)}"] = np.asarray(a)
    out["state/vertex_band"] = np.asarray(st.vertex_band)
    for f in fields(ContactState):
        out[f"contacts/{f.name}"] = np.asarray(getattr(st.contacts, f.name))
    last = sim.global_last_contacts()
    if last is not None:
        for f in fields(Contacts):
            out[f"last_contacts/{f.name}"] = np.asarray(getattr(last, f.name))
    res = sim.result
    for name in _HISTORY:
        out[f"history/{name}"] = np.asarray(getattr(res, name))
    out["stats"] = _text({k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in sim.stats.items()})
    out["impact_hold"] = np.asarray(sim.impact_hold, dtype=float)
    out["solver/n_solves"] = np.asarray(sim.solver.n_solves)
    out["solver/ksp_iterations"] = np.asarray(sim.solver.ksp_iterations)
    w = sim.writer
    if w is not None:
        out["writer/frames"] = _text([[t, b, c] for t, b, c in w.frames])
        out["writer/next_time"] = np.asarray(w.next_time)
        out["writer/last_written_step"] = np.asarray(w.last_written_step)
        out["writer/snap_time"] = np.asarray([t for t, _ in w.snap], dtype=float)
        for k, (_, xy) in enumerate(w.snap):
            out[f"writer/snap/{k}"] = np.asarray(xy)
        if getattr(w, "snap_last", None) is not None:
            out["writer/snap_last_time"] = np.asarray(w.snap_last[0])
            out["writer/snap_last"] = np.asarray(w.snap_last[1])
    return out


def restore(sim: "Simulation", data: dict[str, np.ndarray]) -> None:
    """Put a :func:`snapshot` back into ``sim`` (built from the same block system and settings).

    Raises ``ValueError`` when the arrays do not fit this system (another block count)."""
    st0 = sim.state
    arrays = {name: np.array(data[f"state/{name}"]) for name in _STATE_ARRAYS}
    for name in _STATE_ARRAYS:
        if arrays[name].shape != np.shape(getattr(st0, name)) and name != "points":
            raise ValueError(f"state/{name} has shape {arrays[name].shape}, this system {np.shape(getattr(st0, name))}")
    scalars = {name: data[f"state/{name}"].item() for name in _STATE_SCALARS}
    law_state = {int(k.rsplit("/", 1)[1]): np.array(v) for k, v in data.items() if k.startswith("state/law_state/")}
    if set(law_state) != set(st0.law_state):
        raise ValueError(f"materials {sorted(law_state)}, this system {sorted(st0.law_state)}")
    contacts = ContactState(**{f.name: np.array(data[f"contacts/{f.name}"]) for f in fields(ContactState)})
    # written before session 20: no vertex band (every vertex without one)
    vertex_band = np.array(data["state/vertex_band"]) if "state/vertex_band" in data else np.zeros_like(st0.vertex_band)
    if vertex_band.shape != st0.vertex_band.shape:
        raise ValueError(f"state/vertex_band has shape {vertex_band.shape}, this system {st0.vertex_band.shape}")
    sim.state = State(**arrays, contacts=contacts, law_state=law_state, vertex_band=vertex_band,
                      time=float(scalars["time"]), step=int(scalars["step"]), dt=float(scalars["dt"]),
                      penalty=float(scalars["penalty"]))
    if "last_contacts/i" in data:
        sim.last_contacts = Contacts(**{f.name: np.array(data[f"last_contacts/{f.name}"]) for f in fields(Contacts)})
    sim.invalidate_partition()  # the whole state: each rank takes its part at the next step
    res = sim.result
    for name in _HISTORY:
        a = np.array(data[f"history/{name}"])
        setattr(res, name, list(a) if a.ndim > 1 else a.tolist())
    stats = _untext(data["stats"])
    sim.stats.update({k: (float("inf") if v is None and k == "dt_min_used" else v) for k, v in stats.items()})
    if "impact_hold" in data:  # written before session 25: no hold
        sim.impact_hold = tuple(float(x) for x in np.asarray(data["impact_hold"]))
    sim.solver.n_solves = int(data["solver/n_solves"].item())
    sim.solver.ksp_iterations = int(data["solver/ksp_iterations"].item())
    w = sim.writer
    if w is not None and "writer/frames" in data:
        w.frames = [(float(t), b, c) for t, b, c in _untext(data["writer/frames"])]
        w.next_time = float(data["writer/next_time"].item())
        w.last_written_step = int(data["writer/last_written_step"].item())
        times = np.asarray(data["writer/snap_time"], dtype=float)
        w.snap = [(float(t), np.array(data[f"writer/snap/{k}"])) for k, t in enumerate(times)]
        if "writer/snap_last" in data:
            w.snap_last = (float(data["writer/snap_last_time"].item()), np.array(data["writer/snap_last"]))
