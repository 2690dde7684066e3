"""The DDA set-up several tests share: one free square block resting on a fixed base block.

`block_on_base()` returns the TOML of the two ``[[blocks]]`` tables and the ``joints.default``
Coulomb law; each test adds its own title, material, ``[dda]`` and output tables. Coordinates
are in metres; the base spans ``[0, base_width] × [0, base_height]``, the block is a
``block_size`` square whose lower-left corner sits at ``(block_x, base_height)``.
"""

from __future__ import annotations


def block_on_base(
    *,
    phi: float = 40.0,
    base_width: float = 3.0,
    base_height: float = 1.0,
    block_x: float = 1.0,
    block_size: tuple[float, float] = (1.0, 1.0),
    material: str = "rock",
) -> str:
    """TOML text: ``joints.default`` (Coulomb, friction angle ``phi`` [deg]) and the two blocks."""
    w, h = block_size
    x0, x1, y0, y1 = block_x, block_x + w, base_height, base_height + h
    return f"""[joints.default.law]
kind = "coulomb"
phi = {phi!r}
[[blocks]]
name = "base"
polygon = [[0.0, 0.0], [{base_width!r}, 0.0], [{base_width!r}, {base_height!r}], [0.0, {base_height!r}]]
material = "{material}"
fixed = true
[[blocks]]
name = "block"
polygon = [[{x0!r}, {y0!r}], [{x1!r}, {y0!r}], [{x1!r}, {y1!r}], [{x0!r}, {y1!r}]]
material = "{material}"
"""
