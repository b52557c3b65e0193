r"""Control packs: no-maintenance cohorts summarised from their published figures.

A control pack is a folder ``data/controls/<id>/`` holding ``control.toml``. It *references* figure
keys of ``data/priors/sources.toml`` (never retypes a number) and states the arm, its size, the
population and how it differs from the treated study, the time origin and entry, and how the
figures are summarised. The loader (:func:`load_control`) takes a shipped name (``chang2020_haplo``)
or a folder (or the file itself); every failure is one line naming the file, the key, what was
found and what was expected (:class:`models.errors.StudyError`).

Summary of the figures
----------------------
The figures (cumulative incidences of relapse and NRM at landmarks) become pseudo-events and
pseudo-exposure on the model's intervals by :func:`models.prior_sources.piecewise_pseudo_data`
(constant cause-specific hazards between landmarks; :func:`~models.prior_sources.remission_pseudo_data`).
The pseudo-data of transition :math:`k` are then scaled by :math:`n_k/n`, where the pack's
``size`` chooses :math:`n_k`:

``n``
    :math:`n_k = n`: the cohort counts with all its patients, as if followed to the landmark.
``ci``
    :math:`n_k = \min\{n,\; p_k(1 - p_k)\,(1.96/h_k)^2\}` from the printed 95% CI of the
    transition's figure at its last landmark (estimate :math:`p_k`, half-width :math:`h_k`; a
    Wald interval of a proportion), or :math:`n` when no CI is printed. A printed interval wider
    than :math:`n` patients would give says that censoring (or the estimator) left less
    information than :math:`n`; a narrower one is not taken as more information than the patients.

The scaled pseudo-data are what the comparative model raises to the power :math:`a_0`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from models.constants import DATA_DIR, REPO_ROOT
from models.errors import PriorError, StudyError
from models.prior_sources import PseudoData, Sources, load_sources, remission_pseudo_data
from models.schema import Schema, validate

#: Folder of the shipped control packs.
CONTROLS_DIR: Path = DATA_DIR / "controls"
CONTROL_FILE = "control.toml"
#: Two-sided 95% normal quantile of the Wald interval used by ``size = "ci"``.
Z95 = 1.959963984540054
#: Endpoint of the figure that informs each transition's effective size.
SIZE_ENDPOINT = {"relapse": "cir", "nrm": "nrm"}


class ControlInfo(Schema):
    """``[control]``: which cohort, which arm, which figures."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: str = Field(min_length=3)
    study: str = Field(min_length=1)
    arm: str = Field(min_length=1)
    n: int = Field(gt=0)
    figures: list[str] = Field(min_length=1)
    allow_unverified: bool = False


class Clock(Schema):
    """``[clock]``: time origin and entry of the control's figures."""

    time_origin: str = Field(min_length=3)
    entry_day: float = Field(ge=0)
    entry: str = Field(min_length=3)


class Summary(Schema):
    """``[summary]``: how the figures count (``n`` or an effective size from the printed CIs)."""

    size: Literal["n", "ci"]
    why: str = Field(min_length=3)
    assumptions: list[str] = Field(default_factory=list)


class Population(Schema):
    """``[population]``: who the control patients were, and what about them can bias a comparison.

    ``caveats`` speak of the control alone (any treated study may use the pack); how a particular
    treated study differs is that study's ``[comparison] differences`` (``docs/study_packs.md`` §2.6).
    """

    disease: str = Field(min_length=2)
    disease_status: str = Field(min_length=2)
    mrd: str = Field(min_length=2)
    donor: str = Field(min_length=2)
    era_country: str = Field(min_length=2)
    caveats: list[str] = Field(min_length=1)


class ControlToml(Schema):
    """The whole ``control.toml``."""

    control: ControlInfo
    clock: Clock
    summary: Summary
    population: Population


@dataclass(frozen=True)
class ControlPack:
    """A loaded, checked control pack.

    Attributes
    ----------
    root
        The pack's folder.
    spec
        The validated ``control.toml``.
    figures
        The referenced figures (:class:`models.prior_sources.Figure`), in the pack's order.
    sizes
        :math:`n_k` per transition (``relapse``, ``nrm``), see the module docstring.
    notes
        The notes of the referenced figures (assumptions stated in ``sources.toml``).
    """

    root: Path
    spec: ControlToml
    figures: tuple
    sizes: dict[str, float]
    notes: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.spec.control.id

    @property
    def title(self) -> str:
        return self.spec.control.title

    @property
    def source(self) -> str:
        return _display(self.root / CONTROL_FILE)

    @property
    def verified(self) -> bool:
        """True when every referenced figure was read in its source (``verified = true``)."""
        return all(f.verified for f in self.figures)

    def data(self, cuts: np.ndarray | tuple[float, ...] | list[float]) -> ControlData:
        """Pseudo-events and exposure on ``cuts``, each transition scaled by :math:`n_k / n`.

        Every pseudo-patient enters at ``clock.entry_day`` (checked equal to the source's stated
        entry, or 0 without one).
        """
        try:
            base = remission_pseudo_data(list(self.figures), cuts, src=self.source, where="key 'control.figures'")
        except PriorError as exc:  # the conversion's messages name this file already
            raise StudyError(
                exc.source, where=exc.where, field=exc.field, found=exc.found, expected=exc.expected
            ) from None
        n = self.spec.control.n
        scale = {k: self.sizes[k] / n for k in SIZE_ENDPOINT}
        return ControlData(
            label=self.title,
            events={k: np.asarray(base.events[k], float) * scale[k] for k in SIZE_ENDPOINT},
            exposure={k: np.asarray(base.exposure, float) * scale[k] for k in SIZE_ENDPOINT},
            cuts=np.asarray(cuts, float),
            horizon_days=base.horizon_days,
            base=base,
        )


@dataclass(frozen=True)
class ControlData:
    """A control's pseudo-events and pseudo-exposure per transition and interval (before :math:`a_0`).

    ``events[k]`` and ``exposure[k]`` (days) over the intervals of ``cuts``; ``base`` is the
    unscaled conversion (:class:`models.prior_sources.PseudoData`, all :math:`n` patients).
    """

    label: str
    events: dict[str, np.ndarray]
    exposure: dict[str, np.ndarray]
    cuts: np.ndarray
    horizon_days: float
    base: PseudoData


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def control_names() -> list[str]:
    """The shipped control packs (folder names under ``data/controls``)."""
    return (
        sorted(p.name for p in CONTROLS_DIR.iterdir() if (p / CONTROL_FILE).is_file()) if CONTROLS_DIR.is_dir() else []
    )


def _resolve(name: str | os.PathLike[str]) -> Path:
    text = str(name).strip()
    if not text:
        raise StudyError(
            "--control", found="an empty name", expected=f"a shipped control {control_names()} or a folder"
        )
    p = Path(text)
    if p.is_file() and p.name == CONTROL_FILE:
        return p.resolve()
    if p.is_dir():
        if not (p / CONTROL_FILE).is_file():
            raise StudyError(_display(p), found=f"a folder without {CONTROL_FILE}", expected="a control pack folder")
        return (p / CONTROL_FILE).resolve()
    shipped = CONTROLS_DIR / text / CONTROL_FILE
    if "/" not in text and shipped.is_file():
        return shipped.resolve()
    raise StudyError(
        "--control",
        found=f"'{text}'",
        expected=f"a shipped control {control_names()} or a folder holding {CONTROL_FILE}",
    )


def _toml(path: Path) -> dict:
    import tomllib

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(_display(path), found=f"invalid TOML ({exc})", expected="a TOML file") from None


def effective_size(estimate: float, ci: tuple[float, float] | None, n: int) -> float:
    r""":math:`\min\{n, p(1-p)(1.96/h)^2\}` from a proportion and its printed 95% CI (``n`` without CI)."""
    if ci is None:
        return float(n)
    half = (ci[1] - ci[0]) / 2.0
    if half <= 0 or not 0 < estimate < 1:
        return float(n)
    return float(min(n, estimate * (1.0 - estimate) * (Z95 / half) ** 2))


def load_control(name: str | os.PathLike[str], *, sources: Sources | None = None) -> ControlPack:
    """Load and check a control pack: a shipped name, a folder holding ``control.toml``, or the file.

    Checks (each a one-line :class:`~models.errors.StudyError` naming the file and key): the schema;
    every figure key exists in ``sources.toml``, belongs to ``control.study`` and ``control.arm``,
    has the pack's ``n`` and a ``cir`` or ``nrm`` endpoint with a landmark; unverified figures only
    with ``allow_unverified = true``; ``clock.entry_day`` equals the source's stated entry (0 when
    none) and precedes every landmark; both transitions have a figure.
    """
    path = _resolve(name)
    src = _display(path)
    spec = validate(ControlToml, _toml(path), src, kind=StudyError)
    lib = sources if sources is not None else load_sources()
    c = spec.control
    if c.study not in lib.studies:
        raise StudyError(src, where="key 'control.study'", found=c.study, expected=f"a study key of {lib.path}")
    figs = []
    for i, key in enumerate(c.figures):
        where = f"key 'control.figures[{i}]'"
        if key not in lib.figures:
            raise StudyError(src, where=where, found=key, expected=f"a figure key of {lib.path}")
        f = lib.figures[key]
        checks = (
            ("study", f.study, c.study),
            ("arm", f.arm, c.arm),
            ("n", f.n, c.n),
        )
        for what, got, want in checks:
            if got != want:
                raise StudyError(
                    src, where=where, found=f"{key} has {what} {got!r}", expected=f"{what} {want!r} (control.{what})"
                )
        if f.endpoint not in SIZE_ENDPOINT.values() or f.landmark_months is None:
            raise StudyError(
                src, where=where, found=f"{key} ({f.endpoint})", expected="a cir or nrm figure with a landmark"
            )
        if not f.verified and not c.allow_unverified:
            raise StudyError(
                src,
                where=where,
                found=f"{key} is unverified in {lib.path}",
                expected="verified figures, or control.allow_unverified = true",
            )
        figs.append(f)
    have = {f.endpoint for f in figs}
    for k, ep in SIZE_ENDPOINT.items():
        if ep not in have:
            raise StudyError(
                src, where="key 'control.figures'", found=sorted(have), expected=f"a {ep} figure (for {k})"
            )
    stated = figs[0].entry
    want_entry = 0.0 if stated is None else float(stated.median_day)
    if spec.clock.entry_day != want_entry:
        raise StudyError(
            src,
            where="key 'clock.entry_day'",
            found=spec.clock.entry_day,
            expected=f"{want_entry:g}, the entry "
            + (f"stated in {stated.declared_in}" if stated else "of a source without stated entry (day 0)"),
        )
    first = min(f.landmark_days for f in figs)
    if not spec.clock.entry_day < first:
        raise StudyError(
            src, where="key 'clock.entry_day'", found=spec.clock.entry_day, expected=f"a day before {first:g}"
        )
    sizes: dict[str, float] = {}
    for k, ep in SIZE_ENDPOINT.items():
        last = max((f for f in figs if f.endpoint == ep), key=lambda f: f.landmark_days)
        sizes[k] = effective_size(last.estimate, last.ci, c.n) if spec.summary.size == "ci" else float(c.n)
        if not math.isfinite(sizes[k]) or sizes[k] <= 0:  # pragma: no cover - estimate in (0, 1) is checked upstream
            raise StudyError(src, where="key 'summary.size'", found=sizes[k], expected="a positive size")
    notes = tuple(f"{f.key}: {f.note}" for f in figs if f.note)
    return ControlPack(path.parent, spec, tuple(figs), sizes, notes)
