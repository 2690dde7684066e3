"""Print the [[blocks]] tables of the Vajont section (cases/vajont.toml) cut into compartments.

Usage: python tools/vajont_blocks.py [x_cut ...]     (default: the 10-block cuts of the case)

The slide mass lies between the slip surface and the ground line of cases/vajont.toml; it is
cut by vertical internal joints ("rock_joint") at the given x [m]. Base edges are tagged
"slip_surface", ground edges "" (default joint law), cut edges "rock_joint".
"""

from __future__ import annotations

import sys

import numpy as np

#: ground line, crest to toe [m] (vajont.md, Hendron & Patton section 2 via Boon et al.)
GROUND = np.array([(0.0, 566.0), (352.0, 445.0), (685.0, 229.0), (920.0, 230.0), (1215.0, 0.0)])
#: slip surface [est]: 37.5° back, 13.5° middle, 0° seat daylighting on the toe slope
SLIP = np.array([(0.0, 566.0), (625.0, 86.42), (825.0, 38.40), (1165.74, 38.40)])
CUTS_10 = [125.0, 250.0, 375.0, 500.0, 625.0, 725.0, 825.0, 920.0, 1040.0]


def _z(line: np.ndarray, x: float) -> float:
    return float(np.interp(x, line[:, 0], line[:, 1]))


def _ground_z(x: float) -> float:
    # the toe slope continues below the seat's daylight point
    return _z(GROUND, x)


def blocks(cuts: list[float]) -> list[tuple[list[tuple[float, float]], list[str]]]:
    xs = [0.0, *sorted(cuts), float(SLIP[-1, 0])]
    out = []
    for a, b in zip(xs[:-1], xs[1:]):
        base = [(a, _z(SLIP, a))] + [tuple(p) for p in SLIP if a < p[0] < b] + [(b, _z(SLIP, b))]
        top = [(b, _ground_z(b))] if b < SLIP[-1, 0] else []
        top += [tuple(p) for p in GROUND[::-1] if a < p[0] < b]
        top += [(a, _ground_z(a))] if a > 0 else []
        poly = base + top
        end = b >= SLIP[-1, 0]
        tags = ["slip_surface"] * (len(base) - 1)  # base edges
        tags += ["" if end else "rock_joint"]  # up the right cut (or the ground from the daylight point)
        tags += [""] * (len(top) - 1)  # ground
        tags += ["rock_joint" if a > 0 else ""]  # down the left cut (or the ground to the crest)
        assert len(tags) == len(poly), (poly, tags)
        out.append((poly, tags))
    return out


def area(poly) -> float:
    p = np.asarray(poly)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


if __name__ == "__main__":
    cuts = [float(c) for c in sys.argv[1:]] or CUTS_10
    total = 0.0
    for poly, tags in blocks(cuts):
        total += area(poly)
        print("[[blocks]]")
        print('name = "slide"')
        print("polygon = [" + ", ".join(f"[{x:.4f}, {z:.4f}]" for x, z in poly) + "]")
        print("edge_joints = [" + ", ".join(f'"{t}"' for t in tags) + "]")
        print('material = "rock"')
        print(f"# area {area(poly):.4g} m^2\n")
    print(f"# slide area {total:.5g} m^2")
