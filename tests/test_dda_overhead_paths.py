"""The shortcuts of the per-step overhead work (issue 15 item 2) give the floats of the full paths.

Each shortcut claims bitwise equality with what it replaces (results of whole runs are checked
by tools/dda_bitwise.py against a saved run); these tests pin the claim per piece, with
np.array_equal (exact), on random data where the two paths would round differently if they
summed or multiplied in another order:

* dda.contact_law.ContactStiffness: K recomputed only for contacts whose springs changed, over a
  sequence of open–close-like state changes, against contact_system without it;
* learned.joint.grouped_strength: the one-law path (no masks) against the masked path of the
  same law split over two groups;
* dda.assembly._gather: copies by contiguous runs against np.take;
* dda.contact_law.joint_group: the small-key comparison against np.isin.
"""

from __future__ import annotations

import numpy as np

import learned
from dda.assembly import _gather
from dda.contact_law import DEFAULT_GROUP, LOCKED, OPEN, SLIDING, ContactStiffness, contact_system, joint_group
from learned.joint import grouped_strength


def test_incremental_contact_stiffness_equals_full_recomputation():
    rng = np.random.default_rng(7)
    nc = 300
    wn, ws = rng.normal(size=(nc, 12)), rng.normal(size=(nc, 12))
    gap, stretch = 1e-6 * rng.normal(size=nc), 1e-7 * rng.normal(size=nc)
    pn, ps = 5e11, 2e11
    state = rng.choice([OPEN, SLIDING, LOCKED], size=nc).astype(np.int8)
    sign = rng.choice([-1.0, 1.0], size=nc)
    prev = ContactStiffness()
    recomputed = []
    for it in range(6):
        mu = np.full(nc, 0.577) if it < 4 else 0.577 + 0.01 * rng.random(nc)  # a rate-dependent μ moves every contact
        N0 = 1e5 * rng.random(nc)
        F0 = mu * N0
        K_full, F_full = contact_system(wn, ws, state, gap, stretch, sign, F0, pn, ps, mu, N0)
        before = None if prev.coef is None else prev.coef.copy()
        K_inc, F_inc = contact_system(wn, ws, state, gap, stretch, sign, F0, pn, ps, mu, N0, previous=prev)
        assert np.array_equal(K_inc, K_full) and np.array_equal(F_inc, F_full)
        if before is not None:
            recomputed.append(int(np.count_nonzero(np.any(prev.coef != before, axis=1))))
            sliding = int(np.count_nonzero(state == SLIDING))
        # the next open–close iteration: a few contacts change state, a few sliding ones reverse
        flip = rng.choice(nc, size=12, replace=False)
        state[flip] = rng.choice([OPEN, SLIDING, LOCKED], size=flip.size)
        sign[rng.choice(nc, size=3, replace=False)] *= -1.0
    assert all(0 < r <= 15 for r in recomputed[:3]), recomputed  # only the changed contacts (12 + 3 at most)
    assert recomputed[-1] >= sliding > 15  # μ moved: every sliding contact recomputed (its k_f = σ μ p_n)
    # without a friction slope (k_f None), and a contact list of another size, start afresh
    K_full, _ = contact_system(wn[:50], ws[:50], state[:50], gap[:50], stretch[:50], sign[:50], np.ones(50), pn, ps)
    K_inc, _ = contact_system(wn[:50], ws[:50], state[:50], gap[:50], stretch[:50], sign[:50], np.ones(50), pn, ps,
                              previous=prev)
    assert np.array_equal(K_inc, K_full)


def test_one_law_path_of_grouped_strength_equals_the_masked_path():
    rng = np.random.default_rng(11)
    n = 200
    sn, slip, rate = 1e6 * rng.normal(size=n), 1e-3 * rng.normal(size=n), 1e-2 * rng.normal(size=n)
    bonded = rng.random(n) < 0.5
    for law in (learned.CoulombFriction(phi=30.0, cohesion=1e5, tensile_strength=5e4),
                learned.VelocityWeakeningFriction(phi_peak=30.0, phi_residual=12.0, v_c=0.05)):
        one = grouped_strength({3: law}, np.full(n, 3), sn, slip, rate, bonded)
        split = grouped_strength({3: law, 4: law}, np.where(np.arange(n) % 3 == 0, 4, 3), sn, slip, rate, bonded)
        for a, b in zip(one, split):
            assert a.shape == (n,) and np.array_equal(a, b)
    none = grouped_strength({3: None}, np.full(n, 3), sn, slip, rate, bonded)
    assert all(np.array_equal(a, np.zeros(n)) for a in none)


def test_gather_by_runs_equals_take():
    rng = np.random.default_rng(5)
    nc = 400
    keep = np.ones((nc, 12, 12), dtype=bool)
    for c in rng.choice(nc, size=9, replace=False):  # contacts with a fixed block keep one 6 × 6 corner
        keep[c] = False
        keep[c, :6, :6] = True
    src = rng.normal(size=nc * 144)
    for idx in (np.flatnonzero(keep.ravel()), np.sort(rng.choice(src.size, size=5000, replace=False))):
        out, cache = np.empty(idx.size), {}
        _gather(src, idx, out, cache)
        assert np.array_equal(out, np.take(src, idx))
        assert (len(cache["kc_runs"]) > 0) == (idx.size > 50000)  # runs for long runs, np.take for scattered entries


def test_joint_group_equals_isin():
    tags = np.array([-1, 0, 1, 2, 5, 2, -1, 7])
    for laws in ({}, {2: None}, {0: None, 5: None}, {k: None for k in range(12)}):
        keys = np.fromiter(laws.keys(), dtype=np.int64)
        expect = np.where(np.isin(tags, keys), tags, DEFAULT_GROUP)
        assert np.array_equal(joint_group(tags, laws), expect)
