"""Posterior files: self-describing attributes, data-hash checks, no patient rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.errors import DataError
from models.posterior_io import load_posterior, posterior_attrs, save_posterior
from models.pwe import Model
from models.simulate import simulate_cohort

HAZ = {
    "relapse": [1 / 1500] * 5,
    "nrm": [1 / 3000] * 5,
    "gvhd": [1 / 1000] * 5,
    "death_after_relapse": [1 / 200] * 3,
}


@pytest.fixture(scope="module")
def fitted():
    df = simulate_cohort(25, HAZ, (0, 100, 180, 365, 730), (0, 90, 365), entry_range=(40, 200), seed=4)
    model = Model(df)
    return model, model.fit(engine="exact", draws=50, chains=2, seed=7)


def test_round_trip_keeps_draws_and_attributes(tmp_path, fitted):
    model, idata = fitted
    path = save_posterior(idata, tmp_path / "post.nc")
    back = load_posterior(path, data_sha256=model.data_hashes)
    np.testing.assert_array_equal(
        back.posterior["hazard_relapse"].to_numpy(), idata.posterior["hazard_relapse"].to_numpy()
    )
    attrs = posterior_attrs(back)
    assert attrs["engine"] == "exact" and attrs["seed"] == 7 and attrs["prior_set"] == "weak"
    assert attrs["cuts"] == [0, 100, 180, 365, 730] and attrs["relapse_death_cuts"] == [0, 90, 365]
    # the weak baseline: one pseudo-event spread by width, 100 of 1,095 days on the first interval
    assert attrs["prior"]["transitions"]["nrm"][0]["shapes"] == [100 / 1095]
    assert attrs["sampler"]["draws"] == 50 and attrs["sampler"]["chains"] == 2
    assert attrs["data_sha256"] == model.data_hashes
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temporary file


def test_other_data_is_refused(tmp_path, fitted):
    _, idata = fitted
    path = save_posterior(idata, tmp_path / "post.nc")
    with pytest.raises(DataError, match="data_sha256"):
        load_posterior(path, data_sha256=["0" * 64])


def test_no_patient_rows_are_stored(tmp_path, fitted):
    _, idata = fitted
    back = load_posterior(save_posterior(idata, tmp_path / "p.nc"))
    for group in back.groups():
        ds = getattr(back, group)
        assert "patient" not in ds.dims and not any("patient" in str(v) for v in ds.data_vars)
        assert all("day" not in v or "exposure" in v for v in ds.data_vars)


def test_files_without_attributes_are_rejected(tmp_path, fitted):
    _, idata = fitted
    bare = idata.copy()
    bare.posterior.attrs.pop("prior")
    with pytest.raises(DataError, match="prior"):
        save_posterior(bare, tmp_path / "x.nc")
    bare.to_netcdf(str(tmp_path / "bare.nc"), engine="h5netcdf")  # written around the checks
    with pytest.raises(DataError, match="'prior'"):
        load_posterior(tmp_path / "bare.nc")
    broken = idata.copy()
    broken.posterior.attrs["cuts"] = "not json"
    with pytest.raises(DataError, match="JSON"):
        save_posterior(broken, tmp_path / "y.nc")


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_posterior(tmp_path / "none.nc")
    junk = tmp_path / "junk.nc"
    junk.write_text("not a netCDF file")
    with pytest.raises(DataError, match="unreadable"):
        load_posterior(junk)


def test_attrs_are_plain_json_strings(fitted):
    _, idata = fitted
    for key in ("prior", "sampler", "cuts", "data_sha256"):
        json.loads(idata.posterior.attrs[key])
