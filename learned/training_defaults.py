"""Defaults of :func:`learned.training.train` that ``deepmanifold train`` reads too (one default,
defined once; this module imports no torch, so the CLI can build its help without it)."""

from __future__ import annotations

#: hidden widths of the MLP on point (strain–stress) data when ``hidden`` is not given: the
#: measured recipe, also ``deepmanifold train``'s (coupling.learning_cli reads it; README,
#: "default recipe"). (48, 48), was (32, 32): the corner E = 10 GPa, ε₀ = 2e-4, n = 0.3, plane
#: stress (5000 log samples to |ε| = 5e-3) was under-fitted at 32x32 — training and validation
#: errors equal in the tangent (8.8 %), the loss still falling after all polish iterations — and
#: its fine plate with a hole was 2.06 % off at 100 % of the design load. Session 9 (fine sweep,
#: benchmarks/learned_coupling.py --only sweep): 48x48 worst 0.52 % over ten materials
#: (E 0.44 %); 64x64 fitted as well (E 0.59 %) but costs 1.40x the analytic law per Newton
#: iteration against 48x48's 1.19x (issue 12's bound: 1.3x), measured alternating in one run.
#: Until session 11 the API's own default stayed (32, 32) while the CLI used (48, 48).
MLP_HIDDEN = (48, 48)
#: hidden widths of every other network trained without ``hidden``: the ICNN, the friction MLP
#: of a joint data set (:func:`learned.neural_joint.train_joint`) and projection training
#: (:func:`learned.projection_training.train_projection`); the shipped models
#: cases/models/power_law_plate_icnn, power_law_plate_noisy_proj and vajont_clay_friction are these
OTHER_HIDDEN = (32, 32)


def default_hidden(model: str = "mlp", *, joint: bool = False, projection: bool = False) -> tuple[int, ...]:
    """Hidden widths of a network trained without ``hidden`` (one default for the API and
    ``deepmanifold train``): :data:`MLP_HIDDEN` for the MLP on point data without projection
    training, else :data:`OTHER_HIDDEN` (``model`` "icnn", ``joint`` data, ``projection``)."""
    return MLP_HIDDEN if model == "mlp" and not joint and not projection else OTHER_HIDDEN
