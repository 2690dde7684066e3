"""Strain-path data sets (learned/paths.py): path kinds, histories, HDF5 round trip, CLI."""

import h5py
import numpy as np
import pytest

from conftest import cli_inprocess
from learned import load_dataset, save_dataset
from learned.errors import DataError
from learned.paths import PATH_KINDS, PathDataset, generate_path_dataset, run_paths, strain_paths
from learned.plasticity import STATE_NAMES, J2Plasticity

LAW = J2Plasticity(200e9, 0.3, 250e6, 10e9)
J2 = 'law="j2_plasticity", E=200e9, nu=0.3, yield_stress=250e6, hardening=10e9'


def test_path_kinds_have_their_shapes():
    a = np.array([1e-3, 2e-3, 3e-3])
    m = 60
    mono = strain_paths(4, m, "monotonic", a, seed=1)
    np.testing.assert_allclose(mono, mono[:, -1:, :] * (np.arange(1, m + 1) / m)[None, :, None], rtol=1e-12)
    assert (np.abs(mono[:, -1]) <= a).all()
    lur = strain_paths(4, m, "load_unload_reload", a, seed=1)
    # along its direction the strain goes up, down (unloading), up again
    lam = np.einsum("pmi,pi->pm", lur, lur[:, -1]) / (lur[:, -1] ** 2).sum(1)[:, None]
    sign_changes = (np.diff(np.sign(np.diff(lam, axis=1)), axis=1) != 0).sum(1)
    assert (sign_changes == 2).all()
    np.testing.assert_allclose(lam[:, -1], 1.0)
    cyc = strain_paths(4, m, "cyclic", a, seed=1)
    lam = np.einsum("pmi,pi->pm", cyc, cyc[:, -1]) / (cyc[:, -1] ** 2).sum(1)[:, None]
    assert (lam.min(1) < -0.6).all() and ((np.diff(np.sign(np.diff(lam, axis=1)), axis=1) != 0).sum(1) == 4).all()
    walk = strain_paths(4, m, "random_walk", a, seed=1)
    assert (np.abs(walk) <= a * (1 + 1e-12)).all()
    mixed = strain_paths(8, m, "mixed", a, seed=1)
    assert mixed.shape == (8, m, 3)
    np.testing.assert_array_equal(strain_paths(8, m, "mixed", a, seed=1), mixed)  # reproducible
    assert not np.array_equal(strain_paths(8, m, "mixed", a, seed=2), mixed)
    with pytest.raises(ValueError, match="path kind"):
        strain_paths(2, 3, "zigzag")
    assert set(PATH_KINDS) == {"monotonic", "load_unload_reload", "cyclic", "random_walk", "mixed"}


def test_generated_paths_carry_history_and_state():
    ds = generate_path_dataset(LAW, 12, 40, "load_unload_reload", strain_range=5e-3, seed=3)
    assert ds.strain.shape == ds.stress.shape == (12, 40, 3) and ds.state.shape == (12, 40, 5)
    # the same stress as stepping the law by hand, one path at a time (batched BLAS: round-off)
    stress, state = run_paths(LAW, ds.strain[:1])
    np.testing.assert_allclose(stress[0], ds.stress[0], rtol=0, atol=1e-12 * np.abs(ds.stress).max())
    np.testing.assert_allclose(state[0], ds.state[0], rtol=0, atol=1e-12 * np.abs(ds.state).max())
    # history: after yielding and unloading, the stress differs from the virgin law at the same strain
    virgin = LAW.stress(ds.strain.reshape(-1, 3)).reshape(ds.stress.shape)
    plastic = ds.state[:, -1, 4] > 0
    assert plastic.sum() >= 6
    gap = np.abs(ds.stress - virgin).max(axis=(1, 2)) / np.abs(ds.stress).max()
    assert (gap[plastic] > 1e-3).all()
    # the hardening variable never decreases along a path
    assert (np.diff(ds.state[:, :, 4], axis=1) >= 0).all()
    prov = ds.provenance
    assert prov["generator"] == "learned.generate_path_dataset" and prov["path_kind"] == "load_unload_reload"
    assert prov["state_names"] == list(STATE_NAMES) and prov["law"]["kind"] == "j2_plasticity"


def test_noise_is_relative_to_the_clean_spread_and_leaves_the_state_clean():
    clean = generate_path_dataset(LAW, 30, 40, "mixed", 4e-3, seed=5)
    noisy = generate_path_dataset(LAW, 30, 40, "mixed", 4e-3, noise_strain=0.02, noise_stress=0.05, seed=5)
    np.testing.assert_array_equal(clean.state, noisy.state)
    for obs, ref, level in ((noisy.strain, clean.strain, 0.02), (noisy.stress, clean.stress, 0.05)):
        ratio = (obs - ref).reshape(-1, 3).std(0) / ref.reshape(-1, 3).std(0)
        # 1200 samples: the sample std of N(0, level) is within ±10 % of level (≈ 5 sigma)
        assert np.abs(ratio / level - 1).max() < 0.1


def test_hdf5_round_trip_and_defects(tmp_path):
    ds = generate_path_dataset(LAW, 5, 7, "cyclic", 3e-3, noise_stress=0.01, seed=0)
    path = save_dataset(tmp_path / "paths.h5", ds)
    back = load_dataset(path)
    assert isinstance(back, PathDataset) and back.kind == "paths" and len(back) == 35
    for name in ("strain", "stress", "state"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ds, name))
    assert back.provenance == ds.provenance and back.plane == "strain"
    with h5py.File(path, "a") as f:
        del f["stress"]
        f.create_dataset("stress", data=np.zeros((5, 6, 3)))
    with pytest.raises(DataError, match=r"/stress.*5 paths of 7 steps"):
        load_dataset(path)
    with h5py.File(path, "a") as f:
        del f["stress"]
        bad = ds.stress.copy()
        bad[2, 3, 1] = np.nan
        f.create_dataset("stress", data=bad)
    with pytest.raises(DataError, match="first in path 2, step 3"):
        load_dataset(path)


def test_cli_generates_paths_and_refuses_bad_options(tmp_path):
    out = tmp_path / "p.h5"
    code, text, err = cli_inprocess("data", "generate", "-o", str(out), "--material", J2, "--paths", "8",
                                    "--steps", "10", "--path-kind", "cyclic", "--strain-range", "4e-3",
                                    "--noise-stress", "0.02", "--seed", "4")
    assert code == 0, err
    ds = load_dataset(out)
    assert ds.strain.shape == (8, 10, 3) and ds.provenance["noise"]["stress"] == 0.02
    assert ds.provenance["n_paths"] == 8 and ds.provenance["path_kind"] == "cyclic"
    for args, word in [(["--paths", "0"], "--paths"), (["--paths", "2", "-n", "5"], "-n"),
                       (["--paths", "2", "--path-kind", "zigzag"], "--path-kind"),
                       (["--paths", "100000", "--steps", "1000"], "--paths")]:
        code, _, err = cli_inprocess("data", "generate", "-o", str(tmp_path / "x.h5"), "--material", J2, *args)
        assert code == 2 and len(err.strip().splitlines()) == 1 and word in err, err
        assert not (tmp_path / "x.h5").exists()
    code, _, err = cli_inprocess("train", str(out), "-o", str(tmp_path / "m.pt"))
    assert code == 2 and "path data set" in err and not (tmp_path / "m.pt").exists()
