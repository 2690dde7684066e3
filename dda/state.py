"""The evolving state of a DDA run (everything needed to restart from an accepted step)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from dda.openclose import ContactState


@dataclass
class State:
    """Accepted state after ``step`` steps at ``time`` [s].

    xy (nv,2) vertices [m]; velocity (nb,6) dD/dt; strain (nb,3) accumulated block strain;
    stress (nb,3) block stress [Pa]; tangent (nb,3,3) [Pa]; rotation (nb,) accumulated [rad];
    centroid0 (nb,2) initial centroids [m]; contacts: contact history; points: tracked
    material points (load points, fixed points, line-load ends) [m]; dt the next step [s];
    penalty p_n [N/m] (may be raised by the penetration control); vertex_band (nv, S): the
    joint-law state of the band each vertex last carried in a loaded contact (zeros: none yet),
    global and the same on every rank (see :func:`dda.openclose.transfer`, rule 3).
    """

    xy: np.ndarray
    velocity: np.ndarray
    strain: np.ndarray
    stress: np.ndarray
    tangent: np.ndarray
    rotation: np.ndarray
    centroid0: np.ndarray
    contacts: ContactState
    points: np.ndarray
    time: float = 0.0
    step: int = 0
    dt: float = 1e-3
    penalty: float = 0.0
    law_state: dict = field(default_factory=dict)
    vertex_band: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def copy(self) -> "State":
        """A deep copy (arrays copied, contacts copied)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray) or isinstance(v, ContactState):
                v = v.copy()
            elif isinstance(v, dict):
                v = {k: np.array(a, copy=True) for k, a in v.items()}
            out[f.name] = v
        return State(**out)
