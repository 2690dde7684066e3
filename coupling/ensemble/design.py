"""Parameter designs of an ensemble: ``--vary KEY=LO:HI[:log]`` and the sample points.

A parameter is a case key path (as for ``--set``) with a range [LO, HI]; ``log`` samples it
log-uniformly (LO > 0). Several key paths joined by commas, ``KEY1,KEY2=LO:HI``, are one
parameter that sets every one of them to the same value (a tied parameter: e.g. the height of
a slope's top vertex, which is a vertex of a block and the end of the line run-up is measured
along, ``blocks[0].polygon[2][1],monitor.runup_line[1][1]=182:500``). A design maps the unit cube [0, 1)^d to the parameter box:

    x = LO + u (HI − LO)                 (linear)
    x = LO (HI / LO)^u                   (log)

with u from a Latin hypercube (``lhs``), a scrambled Sobol' sequence (``sobol``), both from
:mod:`scipy.stats.qmc`, or a full factorial grid (``grid``: N = m^d points, m per axis,
cell centres u = (i + ½)/m, so the range ends are never hit exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coupling.errors import CaseError

DESIGNS = ("lhs", "sobol", "grid")
VARY_ALLOWED = ("KEY.PATH=LO:HI or KEY.PATH=LO:HI:log with finite LO < HI (LO > 0 for log), e.g. joints.default.law.phi=15:28; "
                "KEY1,KEY2=LO:HI ties several keys to one value")


@dataclass(frozen=True)
class Parameter:
    """One varied case key: ``key`` (a --set key path, or several joined by commas that take the
    same value), range [lo, hi], ``log`` scale."""

    key: str
    lo: float
    hi: float
    log: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """The case key paths this parameter sets (one, or several tied by commas)."""
        return tuple(self.key.split(","))

    @property
    def label(self) -> str:
        """A short axis label: the last part of the key path (``phi_residual``); a tie joins the
        last part of each of its keys with ``=`` (``polygon[2][1]=runup_line[1][1]``)."""
        return "=".join(k.split(".")[-1] for k in self.keys)

    def sets(self, value: float) -> dict[str, float]:
        """The ``--set`` overrides of this parameter at ``value``: {key path: value} for every key."""
        return {k: float(value) for k in self.keys}

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map u ∈ [0, 1] (any shape) to the parameter's range (log-uniformly when ``log``)."""
        u = np.asarray(u, dtype=float)
        if self.log:
            return self.lo * (self.hi / self.lo) ** u
        return self.lo + u * (self.hi - self.lo)

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`from_unit`: parameter values (any shape) to u ∈ [0, 1]."""
        x = np.asarray(x, dtype=float)
        if self.log:
            return np.log(x / self.lo) / np.log(self.hi / self.lo)
        return (x - self.lo) / (self.hi - self.lo)

    def as_dict(self) -> dict:
        """Plain JSON-able form (ensemble.json, HDF5 attributes, surrogate checkpoints)."""
        return {"key": self.key, "lo": self.lo, "hi": self.hi, "log": self.log}

    @property
    def text(self) -> str:
        """The option text this parameter came from, ``KEY=LO:HI[:log]``."""
        return f"{self.key}={self.lo:g}:{self.hi:g}" + (":log" if self.log else "")


def parse_vary(text: str, option: str = "--vary") -> Parameter:
    """``KEY=LO:HI[:log]`` → :class:`Parameter`; bad text raises a one-line :class:`CaseError`."""
    from coupling.case.loader import KEY_PATH

    if "=" not in text:
        raise CaseError(option, None, f"found {text!r}", VARY_ALLOWED)
    key, rng = (s.strip() for s in text.split("=", 1))
    keys = [k.strip() for k in key.split(",")]
    if not all(KEY_PATH.fullmatch(k) for k in keys):
        raise CaseError(option, None, f"found {text!r} (malformed key path)", VARY_ALLOWED)
    if len(set(keys)) != len(keys):
        raise CaseError(option, None, f"found {text!r} (a key tied to itself)", VARY_ALLOWED)
    key = ",".join(keys)
    parts = [p.strip() for p in rng.split(":")]
    log = len(parts) == 3 and parts[2] == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise CaseError(option, None, f"found {text!r}", VARY_ALLOWED)
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise CaseError(option, None, f"found {text!r}", VARY_ALLOWED) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or (log and lo <= 0):
        raise CaseError(option, None, f"found {text!r}", VARY_ALLOWED)
    return Parameter(key, lo, hi, log)


def unit_design(kind: str, n: int, d: int, seed: int) -> np.ndarray:
    """n points of the unit cube [0, 1)^d, shape (n, d), by design ``kind`` (lhs | sobol | grid)."""
    from scipy.stats import qmc

    if kind == "lhs":
        return qmc.LatinHypercube(d=d, seed=np.random.default_rng(seed)).random(n)
    if kind == "sobol":
        import warnings

        with warnings.catch_warnings():  # n not a power of two only costs balance; we state it in the docs
            warnings.simplefilter("ignore")
            return qmc.Sobol(d=d, scramble=True, seed=np.random.default_rng(seed)).random(n)
    if kind == "grid":
        m = round(n ** (1.0 / d))
        if m ** d != n:
            raise CaseError("--samples", None, f"found {n} with --design grid over {d} parameter(s)",
                            f"a perfect {d}-th power, e.g. {max(m, 2) ** d}")
        axes = [(np.arange(m) + 0.5) / m] * d
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(n, d)
    raise CaseError("--design", None, f"found {kind!r}", " | ".join(DESIGNS))


def sample_design(parameters: list[Parameter], n: int, kind: str, seed: int) -> np.ndarray:
    """The ensemble's parameter points, shape (n, d), in the parameters' units."""
    u = unit_design(kind, n, len(parameters), seed)
    return np.stack([p.from_unit(u[:, j]) for j, p in enumerate(parameters)], axis=1)
