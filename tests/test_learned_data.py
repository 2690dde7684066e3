"""Constitutive / joint data sets: HDF5 round trip, validation errors, CSV import, generation."""

import json

import h5py
import numpy as np
import pytest

from learned import (
    DataError,
    PowerLawElastic,
    VelocityWeakeningFriction,
    generate_dataset,
    generate_joint_dataset,
    import_csv,
    load_dataset,
    save_dataset,
)

LAW = PowerLawElastic(30e9, 0.25, 1e-3, 0.4, "stress")


def one_line(err: DataError, *parts: str) -> str:
    text = str(err)
    assert "\n" not in text
    for p in parts:
        assert p in text, text
    return text


def test_round_trip_keeps_arrays_and_attributes(tmp_path):
    ds = generate_dataset(LAW, 300, 2e-3, noise_strain=0.02, noise_stress=0.01, seed=4, sampler="sobol")
    path = save_dataset(tmp_path / "d.h5", ds)
    back = load_dataset(path)
    assert np.array_equal(back.strain, ds.strain) and np.array_equal(back.stress, ds.stress)
    assert back.plane == "stress" and back.provenance == json.loads(json.dumps(ds.provenance))
    with h5py.File(path) as f:
        assert f.attrs["units"] == "SI" and f.attrs["voigt"] == "xx,yy,xy (engineering shear)"
        assert int(f.attrs["format_version"]) == 1
        prov = json.loads(f.attrs["provenance"])
    assert prov["law"]["kind"] == "power_law_elastic" and prov["seed"] == 4
    assert prov["noise"] == {"strain": 0.02, "stress": 0.01, "definition": prov["noise"]["definition"]}
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary


def test_state_and_joint_round_trip(tmp_path):
    ds = generate_dataset(LAW, 20, seed=0)
    ds.state = np.arange(40.0).reshape(20, 2)
    assert np.array_equal(load_dataset(save_dataset(tmp_path / "s.h5", ds)).state, ds.state)
    j = generate_joint_dataset(VelocityWeakeningFriction(26, 10, 0.1), 50, noise=0.05, seed=1)
    back = load_dataset(save_dataset(tmp_path / "j.h5", j))
    assert back.kind == "joint" and np.array_equal(back.shear_strength, j.shear_strength)


def test_generation_is_reproducible_and_noise_is_relative_to_std():
    a = generate_dataset(LAW, 4000, [1e-3, 2e-3, 3e-3], noise_strain=0.05, seed=7)
    b = generate_dataset(LAW, 4000, [1e-3, 2e-3, 3e-3], noise_strain=0.05, seed=7)
    assert np.array_equal(a.strain, b.strain) and np.array_equal(a.stress, b.stress)
    clean = generate_dataset(LAW, 4000, [1e-3, 2e-3, 3e-3], seed=7)
    assert np.array_equal(clean.stress, a.stress)  # stress from the clean strain, no stress noise
    ratio = (a.strain - clean.strain).std(0) / clean.strain.std(0)
    assert np.allclose(ratio, 0.05, rtol=0.06)
    assert (np.abs(clean.strain).max(0) <= [1e-3, 2e-3, 3e-3]).all()
    s = generate_dataset(LAW, 100, np.array([[0, 1e-3], [-1e-3, 0], [0, 2e-3]]), sampler="sobol")
    assert (s.strain >= [0, -1e-3, 0]).all() and (s.strain <= [1e-3, 0, 2e-3]).all()


def write_h5(path, **over):
    strain = over.pop("strain", np.zeros((5, 3)))
    stress = over.pop("stress", np.ones((5, 3)))
    attrs = {"units": "SI", "plane": "strain", "format_version": 1, "provenance": "{}", **over}
    with h5py.File(path, "w") as f:
        f["strain"], f["stress"] = strain, stress
        for k, v in attrs.items():
            if v is not None:
                f.attrs[k] = v
    return path


@pytest.mark.parametrize("kwargs,key,found,allowed", [
    ({"stress": np.array([[1.0, np.nan, 0]] * 5)}, "/stress", "NaN/inf", "finite"),
    ({"strain": np.array([[np.inf, 0, 0]] * 5)}, "/strain", "NaN/inf", "finite"),
    ({"stress": np.ones((4, 3))}, "/stress", "4 rows", "5 rows"),
    ({"stress": np.ones((5, 2))}, "/stress", "shape (5, 2)", "(N, 3)"),
    ({"units": "MPa"}, "attrs.units", "'MPa'", "'SI'"),
    ({"units": None}, "attrs.units", "missing", "SI"),
    ({"plane": "axisymmetric"}, "attrs.plane", "'axisymmetric'", "strain | stress"),
    ({"format_version": 9}, "attrs.format_version", "9", "1"),
    ({"provenance": "{not json"}, "attrs.provenance", "invalid JSON", "JSON"),
    ({"voigt": "xx,yy,zz"}, "attrs.voigt", "'xx,yy,zz'", "engineering shear"),
])
def test_bad_files_raise_one_line_data_error(tmp_path, kwargs, key, found, allowed):
    path = write_h5(tmp_path / "bad.h5", **kwargs)
    with pytest.raises(DataError) as exc:
        load_dataset(path)
    one_line(exc.value, str(path), key, found, allowed)
    assert exc.value.exit_code == 2 and exc.value.key == key


def test_missing_and_non_hdf5_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_dataset(tmp_path / "nope.h5")
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(DataError) as exc:
        load_dataset(junk)
    one_line(exc.value, str(junk), "not a readable HDF5 file")


def test_save_refuses_bad_data(tmp_path):
    ds = generate_dataset(LAW, 10)
    ds.stress[3, 1] = np.nan
    with pytest.raises(DataError, match="/stress"):
        save_dataset(tmp_path / "x.h5", ds)
    assert not list(tmp_path.iterdir())


def test_csv_import_converts_units(tmp_path):
    ds = generate_dataset(LAW, 30, seed=2)
    path = tmp_path / "lab.csv"
    rows = ["exx,eyy,gxy,sxx,syy,sxy,comment"]
    rows += [",".join(f"{v:.17g}" for v in (*e, *(s / 1e6))) + ",ok" for e, s in zip(ds.strain, ds.stress)]
    path.write_text("\n".join(rows) + "\n\n")
    got = import_csv(path, stress_unit="MPa", plane="stress")
    assert np.allclose(got.strain, ds.strain, rtol=1e-15) and np.allclose(got.stress, ds.stress, rtol=1e-14)
    assert got.plane == "stress" and got.provenance["stress_unit"] == "MPa"
    kpa = import_csv(path, stress_unit="kPa")
    assert np.allclose(kpa.stress, ds.stress / 1e3, rtol=1e-14)
    save_dataset(tmp_path / "lab.h5", got)  # imported data pass the same validation


def test_csv_from_a_spreadsheet(tmp_path):
    """A UTF-8 byte-order mark (a spreadsheet's "CSV UTF-8") and trailing empty cells are read;
    before session 18 the mark made the header "no column 'exx'" (found \ufeffexx,...)."""
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffexx,eyy,gxy,sxx,syy,sxy\r\n1e-3,0,0,1e6,2e6,0,\r\n2e-3,0,0,2e6,4e6,0,,\r\n".encode())
    got = import_csv(path)
    assert got.strain.shape == (2, 3) and got.stress[1, 1] == 4e6


def test_csv_errors_name_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("exx,eyy,gxy,sxx,syy,sxy\n0,0,0,1,2,3\n0,0,abc,1,2,3\n")
    with pytest.raises(DataError) as exc:
        import_csv(path)
    one_line(exc.value, str(path), "line 3, column gxy", "'abc'", "a number")
    path.write_text("exx,eyy,sxx,syy,sxy\n0,0,1,2,3\n")
    with pytest.raises(DataError, match="no column 'gxy'"):
        import_csv(path)
    with pytest.raises(DataError, match="kPa"):
        import_csv(path, stress_unit="psi")
    path.write_text("exx,eyy,gxy,sxx,syy,sxy\n0,0,0,1,nan,3\n")
    with pytest.raises(DataError, match="NaN"):
        import_csv(path)


@pytest.mark.parametrize("sampler,warns", [("log", True), ("sobol", False)])
def test_generate_warns_when_the_log_sampler_drowns_small_strains_in_noise(tmp_path, sampler, warns):
    """README's command (2 % noise) with the default log sampler: the noise is relative to the
    standard deviation over the whole sample, so about a third of the log-sampled points have a
    strain or stress below their noise, and an ICNN trained on them was off by ~100 % in stress at
    the small strains with no word said; the command now warns (one line on stderr) and a box
    sampler does not."""
    from conftest import cli_inprocess

    code, out, err = cli_inprocess(
        "data", "generate", "-o", str(tmp_path / "d.h5"), "-n", "2000", "--noise-strain", "0.02",
        "--noise-stress", "0.02", "--sampler", sampler,
        "--material", 'law="power_law_elastic", E=70e9, nu=0.33, strain0=1e-3, exponent=0.5, plane="stress"')
    assert code == 0 and out.startswith("wrote")
    lines = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(lines) == (1 if warns else 0), err
    if warns:
        assert "% of the points have a strain or stress smaller than its noise" in lines[0]


def test_noise_dominated_fraction_counts_points_below_their_noise():
    from coupling.learning_cli import noise_dominated_fraction
    from learned.dataset import ConstitutiveDataset

    strain = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [1e-3, 0.0, 0.0], [-1e-3, 0.0, 0.0]])
    ds = ConstitutiveDataset(strain, strain * 1e9)
    # std of column 0 = sqrt((1 + 1 + 2e-6) / 4) ~ 0.7071; 2 % of it is ~0.0141 > 1e-3
    assert noise_dominated_fraction(ds, 0.02, 0.0) == 0.5
    assert noise_dominated_fraction(ds, 0.0, 0.0) == 0.0
    assert noise_dominated_fraction(ds, 0.0, 1e-4) == 0.0  # 7.07e-5 x 1e9 < 1e6


def test_generate_accepts_a_material_table_broken_across_lines(tmp_path):
    """docs/plasticity.md quoted `--material 'law="j2_plasticity", E=70e9,<newline> nu=0.3, …'`
    (a line break inside the quotes, as case headers still do): TOML refused it ("not a TOML
    inline table"); a line break now counts as a space, and the data set is the one-line one."""
    from conftest import cli_inprocess

    sets = {}
    for name, table in (("one", 'law="j2_plasticity", E=70e9, nu=0.3, yield_stress=200e6, hardening=5e9'),
                        ("two", 'law="j2_plasticity", E=70e9,\n        nu=0.3, yield_stress=200e6, hardening=5e9')):
        code, out, err = cli_inprocess("data", "generate", "-o", str(tmp_path / f"{name}.h5"), "--material", table,
                                       "--paths", "4", "--steps", "5", "--seed", "1")
        assert code == 0, err
        sets[name] = load_dataset(tmp_path / f"{name}.h5")
    assert np.array_equal(sets["one"].stress, sets["two"].stress)
