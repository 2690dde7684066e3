"""Plot conventions shared by the continuum plots: stresses in MPa, robust colour limits that
say what they clip, and a zoom on a localised peak (e.g. the edge of a hole, a crack tip).

A stress concentration (or a singularity: a crack tip, a re-entrant corner, a point load)
puts a few cells far above the rest; a colour range up to the maximum then paints the whole
body in one colour. The range is therefore capped at the ``PERCENTILE``-th percentile of the
cell values, the colour bar is drawn with an arrow (``extend="max"``) and the title notes the
true peak, its location and that it lies above the range.
"""

from __future__ import annotations

import numpy as np

PERCENTILE = 99.5
MPA = 1e-6


def colour_range(values: np.ndarray, percentile: float = PERCENTILE) -> tuple[float, float, bool]:
    """(vmin, vmax, clipped): vmax = the percentile of ``values`` when the maximum lies more than
    5 % above it (clipped = True), else the maximum."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0, False
    lo, hi, top = float(v.min()), float(np.percentile(v, percentile)), float(v.max())
    if top > hi * 1.05 and hi > lo:
        return lo, hi, True
    return lo, top if top > lo else lo + 1.0, False


def peak_note(values: np.ndarray, centres: np.ndarray, unit: str = "MPa", clipped: bool = False) -> str:
    """'peak 315 MPa at (0.2, 0) m [above the colour range, capped at the 99.5th percentile]'."""
    k = int(np.nanargmax(values))
    x, y = centres[k]
    text = f"largest cell value {values[k]:.4g} {unit} at ({x:.4g}, {y:.4g}) m"
    if clipped:
        text += f"; colours capped at the {PERCENTILE:g}th percentile"
    return text


def zoom_window(values: np.ndarray, centres: np.ndarray, extent: float) -> tuple[np.ndarray, float] | None:
    """(centre, half width) of a window on a localised peak, or None when the peak is spread.

    The cells within 20 % of the maximum are 'hot'; when their bounding box is smaller than a
    tenth of the body, a window of 3× that size (at least 2 % of the body) centred on the peak
    shows what the full view cannot.
    """
    v = np.asarray(values, dtype=float)
    if v.size < 10 or not np.isfinite(v).any():
        return None
    top = np.nanmax(v)
    hot = centres[v >= 0.8 * top]
    size = float(np.ptp(hot, axis=0).max()) if len(hot) > 1 else 0.0
    if size >= 0.1 * extent:
        return None
    return centres[int(np.nanargmax(v))], max(3.0 * size, 0.02 * extent)
