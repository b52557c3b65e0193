"""Reading and writing posterior files (ArviZ InferenceData as netCDF): the only place that does.

A posterior file describes itself: the attributes of its ``posterior`` group name the model, engine,
prior set and its parameters, sampler settings, cut points, seed and the SHA-256 of every input
table (:func:`models.io.sha256_frame`). Patient rows are never stored — only hazard draws and the
aggregate events and exposures per interval. :func:`load_posterior` checks the attributes and, when
given the data, that the file was fitted to exactly that data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import arviz as az  # InferenceData groups (posterior, ...) are attributes its types do not declare: ignores below

from models.errors import DataError
from models.intervals import TRANSITIONS
from models.io import atomic_target

#: Attributes every posterior file carries.
REQUIRED_ATTRS: tuple[str, ...] = (
    "model",
    "engine",
    "seed",
    "prior_set",
    "prior",
    "sampler",
    "cuts",
    "relapse_death_cuts",
    "from_transplant",
    "data_sha256",
)
_JSON_ATTRS = ("prior", "sampler", "cuts", "relapse_death_cuts", "data_sha256")


def _check(idata: az.InferenceData, source: str) -> None:
    if "posterior" not in idata.groups():
        raise DataError(source, found="no posterior group", expected="a posterior file written by models.posterior_io")
    attrs = idata.posterior.attrs  # type: ignore[attr-defined]
    for key in REQUIRED_ATTRS:
        if key not in attrs:
            raise DataError(
                source,
                where="posterior attributes",
                field=key,
                found="missing",
                expected="a posterior file written by models.posterior_io.save_posterior",
            )
    for key in _JSON_ATTRS:
        try:
            json.loads(attrs[key])
        except (TypeError, json.JSONDecodeError):
            raise DataError(
                source, where="posterior attributes", field=key, found=attrs[key], expected="a JSON string"
            ) from None
    for k in TRANSITIONS:
        if f"hazard_{k}" not in idata.posterior:  # type: ignore[attr-defined]
            raise DataError(
                source,
                where="posterior",
                field=f"hazard_{k}",
                found="missing",
                expected="hazard draws of every transition",
            )


def save_posterior(idata: az.InferenceData, path: str | os.PathLike[str]) -> Path:
    """Write ``idata`` atomically to a netCDF file after checking it describes itself."""
    path = Path(path)
    _check(idata, str(path))
    with atomic_target(path) as tmp:
        idata.to_netcdf(tmp, engine="h5netcdf")  # type: ignore[arg-type]  # arviz annotates str; any path works
    return path


def load_posterior(path: str | os.PathLike[str], *, data_sha256: Sequence[str] | str | None = None) -> az.InferenceData:
    """Read a posterior file; check its attributes and, if given, the hashes of the data it fitted."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, found="no such file", expected="a posterior .nc file")
    try:
        idata = az.from_netcdf(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise DataError(
            path,
            found=f"unreadable netCDF ({str(exc).splitlines()[0]})",
            expected="a posterior file written by models.posterior_io",
        ) from None
    _check(idata, str(path))
    if data_sha256 is not None:
        want = [data_sha256] if isinstance(data_sha256, str) else list(data_sha256)
        got = json.loads(idata.posterior.attrs["data_sha256"])
        if got != want:
            raise DataError(
                path,
                where="posterior attributes",
                field="data_sha256",
                found=f"hashes of other data ({len(got)} tables)",
                expected="a posterior fitted to the given data (refit it)",
            )
    return idata


def posterior_attrs(idata: az.InferenceData) -> dict[str, Any]:
    """The run attributes with JSON strings decoded."""
    attrs = dict(idata.posterior.attrs)  # type: ignore[attr-defined]
    return {k: (json.loads(v) if k in _JSON_ATTRS or k == "data_sources" else v) for k, v in attrs.items()}
