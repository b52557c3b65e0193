"""A study pack: one folder with ``study.toml`` and the files it names.

A pack is how a study enters the toolkit: a published letter (Table 1, every printed figure, the
reconstruction's constraints, the letter's text for quote checks) or one's own cohort (per-patient
outcome tables, optionally Table 1), or both. Every command takes ``--study PATH``; the default is
the shipped Huang et al. 2024 pack. The schema is :mod:`models.study.schema`; the keys are
documented in ``docs/study_packs.md``.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from models.constants import DATA_DIR, REPO_ROOT
from models.errors import StudyError
from models.schema import validate
from models.study.schema import ColumnSpec, PopulationRule, StudyInfo, StudyToml
from models.study.table1 import check_rules, evaluate_population, load_table1

if TYPE_CHECKING:
    from models.data import Published

#: The shipped default study (Huang et al., Blood Cancer Journal 2024;14:109)
DEFAULT_STUDY_DIR: Path = DATA_DIR / "huang2024"
STUDY_FILE = "study.toml"


def _display(path: Path) -> str:
    """A path as messages and manifests show it: relative to the checkout when inside it."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True, eq=False)
class StudyPack:
    """A loaded, validated study pack.

    Attributes
    ----------
    root
        The pack's folder; every file name in ``study.toml`` is relative to it.
    info
        ``[study]``: id, title, short name, citation, DOI, licence, time origin, entry definition,
        last follow-up date, the letter's text file.
    columns, populations
        Table 1's declared columns and the named populations (``cohort`` is built in).
    controls
        ``[comparison] controls``: the control packs a fit compares with by default, as shipped
        names or folders resolved against the pack (empty: no comparison unless asked for).
    control_differences
        ``[comparison] differences``: how this study's patients differ from a control's, keyed by
        the control's folder name (a shipped name is its folder name).
    """

    root: Path
    info: StudyInfo
    files: dict[str, Path | None]
    columns: dict[str, ColumnSpec]
    populations: dict[str, PopulationRule]
    controls: tuple[str, ...] = ()
    control_differences: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ identity and labels
    @property
    def id(self) -> str:
        return self.info.id

    @property
    def toml(self) -> Path:
        return self.root / STUDY_FILE

    @property
    def source(self) -> str:
        """``study.toml`` as error messages name it."""
        return _display(self.toml)

    @property
    def label(self) -> str:
        """Short name for figure titles and legends (e.g. "Huang et al. 2024")."""
        return self.info.short_name

    def population_label(self, name: str) -> str:
        """Plain label of a population (its ``label``, else the name with spaces)."""
        if name == "cohort":
            return "whole cohort"
        rule = self.populations.get(name)
        return rule.label if rule is not None and rule.label else name.replace("_", " ")

    @property
    def population_names(self) -> list[str]:
        return ["cohort", *self.populations]

    # ------------------------------------------------------------------ files
    @property
    def baseline_path(self) -> Path | None:
        return self.files["baseline"]

    @property
    def published_path(self) -> Path | None:
        return self.files["published"]

    @property
    def constraints_path(self) -> Path | None:
        return self.files["constraints"]

    @property
    def outcomes_path(self) -> Path | None:
        return self.files["outcomes"]

    @property
    def text_path(self) -> Path | None:
        return None if self.info.text is None else (self.root / self.info.text)

    def input_files(self) -> list[Path]:
        """Every file of the pack that exists (for input hashes and staleness)."""
        out = [self.toml]
        for key in ("baseline", "published", "constraints"):
            p = self.files[key]
            if p is not None and p.is_file():
                out.append(p)
        return out

    def owns_outcomes(self, data: str | os.PathLike[str] | None) -> bool:
        """Whether ``data`` (an outcome CSV or folder) is this pack's own outcome tables."""
        if data is None:
            return True
        own = self.outcomes_path
        return own is not None and Path(data).resolve() == own.resolve()

    # ------------------------------------------------------------------ tables
    def baseline(self) -> pd.DataFrame | None:
        """Table 1 validated against ``[columns]``, plus an ``is_<population>`` flag per population."""
        if self.baseline_path is None:
            return None
        if "baseline" not in self._cache:
            self._cache["baseline"] = self.load_baseline(self.baseline_path)
        return self._cache["baseline"].copy()

    def load_baseline(self, path: str | os.PathLike[str]) -> pd.DataFrame:
        """A Table 1 file read with this pack's columns (the pack's own, or another table of that shape).

        On the pack's own Table 1 a population that matches nobody is an error (a rule that cannot
        be what the letter meant); another table (a subset, a simulated study) may leave one empty.
        """
        p = Path(path)
        table = load_table1(p, self.columns)
        own = self.baseline_path is not None and p.resolve() == self.baseline_path.resolve()
        flags = self.flags(table, source=_display(p), require_members=own)
        return pd.concat([table, flags], axis=1)

    def flags(
        self, baseline: pd.DataFrame, *, source: str | None = None, require_members: bool = False
    ) -> pd.DataFrame:
        """``is_<population>`` for every named population (``require_members``: none may be empty)."""
        src = source or self.source
        cols = {}
        for name in self.populations:
            mask = self.population_mask(baseline, name)
            if require_members and not mask.any():
                raise StudyError(
                    src,
                    where=f"population '{name}' (rule in {self.source})",
                    found="no patient",
                    expected="a rule that matches at least one patient of Table 1",
                )
            cols[f"is_{name}"] = mask
        return pd.DataFrame(cols, index=baseline.index)

    def population_mask(self, baseline: pd.DataFrame, name: str, *, source: str | None = None) -> pd.Series:
        """Boolean mask of population ``name`` (``cohort``: everyone)."""
        id_col = next((c for c, s in self.columns.items() if s.type == "id"), "patient")
        return evaluate_population(baseline, name, self.populations, source or self.source, id_column=id_col).astype(
            bool
        )

    def published(self) -> Published | None:
        """The letter's figures (``published.toml``), populations checked against this pack."""
        if self.published_path is None:
            return None
        if "published" not in self._cache:
            from models.data import load_published

            pub = load_published(self.published_path, study=self)
            self._check_quotes(pub)
            mine, theirs = self.info.last_followup_date, pub.study.get("last_followup_date")
            if mine is not None and theirs is not None and mine != theirs:  # one value per quantity
                raise StudyError(
                    self.source,
                    where="key 'study.last_followup_date'",
                    found=str(mine),
                    expected=f"the date {_display(pub.path)} gives ({theirs}), or the key left out of one of them",
                )
            self._cache["published"] = pub
        return self._cache["published"]

    def _check_quotes(self, pub: Published) -> None:
        text_path = self.text_path
        if text_path is None:
            return
        text = normalise_quote(text_path.read_text(encoding="utf-8"))
        for fig in pub.figures.values():
            if normalise_quote(fig.quote) not in text:
                raise StudyError(
                    _display(pub.path),
                    where=f"figure.{fig.key}",
                    field="quote",
                    found=fig.quote[:60] + ("..." if len(fig.quote) > 60 else ""),
                    expected=f"text found verbatim in {_display(text_path)}",
                )

    def outcome_tables(self) -> list[pd.DataFrame]:
        """The pack's per-patient outcome tables (validated)."""
        from models.data import load_outcome_draws

        if self.outcomes_path is None:
            raise StudyError(
                self.source, where="files", field="outcomes", found="missing", expected="per-patient outcome tables"
            )
        self.check_outcomes_exist()
        return load_outcome_draws(self.outcomes_path)

    def check_outcomes_exist(self) -> None:
        """A letter's pack whose outcome tables are not reconstructed yet says what to run."""
        p = self.outcomes_path
        if p is not None and not p.exists():
            raise StudyError(
                self.source,
                where="key 'files.outcomes'",
                found=f"{p.name} (not written yet)",
                expected=f"the reconstructed tables: run scripts/reconstruct.py --study {_display(self.root)}",
            )

    def citation_line(self) -> str:
        doi = f" doi:{self.info.doi}" if self.info.doi else ""
        return f"{self.info.citation}{doi}"


def normalise_quote(text: str) -> str:
    """Quotes are compared with whitespace collapsed and TeX markup ($, \\) dropped."""
    return re.sub(r"\s+", " ", text.replace("$", "").replace("\\", "")).strip()


def load_study(path: str | os.PathLike[str] | None = None) -> StudyPack:
    """Load and check a study pack (a folder holding ``study.toml``, or the file itself)."""
    if path is None:
        return default_study()
    p = Path(path)
    if not str(path).strip():
        raise StudyError("study", found="an empty path", expected="a study pack folder holding study.toml")
    toml = p / STUDY_FILE if p.is_dir() else p
    if not p.exists():
        raise StudyError(_display(p), found="no such file or folder", expected="a study pack folder with study.toml")
    if p.is_dir() and not toml.is_file():
        raise StudyError(_display(p), found=f"a folder without {STUDY_FILE}", expected="a study pack folder")
    return _load(toml.resolve())


#: A pack folder with more files than this is not cached (its fingerprint would cost more than a load).
_CACHE_MAX_FILES = 2000


@functools.lru_cache(maxsize=8)
def _load_cached(toml: Path, fingerprint: tuple[tuple[str, int, int], ...]) -> StudyPack:
    return _build(toml)


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...] | None:
    """Path, size and modification time of every file of a pack folder; ``None`` when too many."""
    found: list[tuple[str, int, int]] = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            found.append((str(path.relative_to(root)), st.st_size, st.st_mtime_ns))
            if len(found) > _CACHE_MAX_FILES:
                return None
    return tuple(found)


def _load(toml: Path) -> StudyPack:
    """A pack, re-read when any file of its folder changed (the pack also caches its tables)."""
    fingerprint = _fingerprint(toml.parent)
    return _build(toml) if fingerprint is None else _load_cached(toml, fingerprint)


def _build(toml: Path) -> StudyPack:
    from models.io import read_toml

    src = _display(toml)
    doc = validate(StudyToml, read_toml(toml, StudyError, "study.toml"), src, StudyError)
    root = toml.parent
    files: dict[str, Path | None] = {}
    for key in ("baseline", "published", "constraints", "outcomes"):
        name = getattr(doc.files, key)
        if name is None:
            files[key] = None
            continue
        p = root / name
        if key == "outcomes" and not p.exists() and doc.files.constraints is not None:
            files[key] = p  # a letter's pack before its first reconstruction: reconstruct.py writes it
            continue
        if not p.exists():
            raise StudyError(
                src, where=f"key 'files.{key}'", found=f"{name} (no such file)", expected="a file of the pack"
            )
        if key == "outcomes" and p.is_dir() and not any(p.glob("draw_*.csv")):
            raise StudyError(
                src, where="key 'files.outcomes'", found=f"{name} (no draw_*.csv)", expected="outcome tables"
            )
        if key != "outcomes" and not p.is_file():
            raise StudyError(src, where=f"key 'files.{key}'", found=f"{name} (a folder)", expected="a file")
        files[key] = p
    if doc.study.text is not None and not (root / doc.study.text).is_file():
        raise StudyError(
            src, where="key 'study.text'", found=f"{doc.study.text} (no such file)", expected="the letter's text"
        )
    if files["baseline"] is not None:
        ids = [c for c, s in doc.columns.items() if s.type == "id"]
        if len(ids) != 1:
            raise StudyError(
                src, where="columns", found=f"{len(ids)} id columns", expected="exactly one column of type = 'id'"
            )
    elif doc.columns:
        raise StudyError(src, where="columns", found="columns without a baseline", expected="[files] baseline = ...")
    check_rules(doc.populations, doc.columns, src, files["baseline"] is not None)
    pack = StudyPack(
        root=root,
        info=doc.study,
        files=files,
        columns=dict(doc.columns),
        populations=dict(doc.populations),
        controls=_controls(doc, root, src),
        control_differences={
            Path(k).name: tuple(v) for k, v in (doc.comparison.differences if doc.comparison else {}).items()
        },
    )
    pack.baseline()  # Table 1 and every population rule are checked when the pack loads
    return pack


def _controls(doc: StudyToml, root: Path, src: str) -> tuple[str, ...]:
    """``[comparison] controls`` as names the control loader accepts: shipped names, or pack folders."""
    if doc.comparison is None:
        return ()
    from models.comparative import CONTROLS_DIR, control_names
    from models.comparative.packs import CONTROL_FILE

    out = []
    for i, name in enumerate(doc.comparison.controls):
        local = root / name
        if (local / CONTROL_FILE).is_file():
            out.append(str(local))
        elif "/" not in name and (CONTROLS_DIR / name / CONTROL_FILE).is_file():
            out.append(name)
        else:
            raise StudyError(
                src,
                where=f"key 'comparison.controls[{i}]'",
                found=f"'{name}'",
                expected=f"a shipped control {control_names()} or a folder of the pack holding {CONTROL_FILE}",
            )
    return tuple(out)


def output_key(pack: StudyPack, data: str | os.PathLike[str] | None = None) -> str:
    """Name of the per-study output folders (``results/<key>/``, ``figures/<key>/``).

    The pack's id when the outcome tables are the pack's own; ``data-<name>`` for other tables
    given with ``--data``, so a run on one's own cohort never overwrites a study's outputs.
    """
    if pack.owns_outcomes(data):
        return pack.id
    stem = Path(data).stem if data is not None else "data"
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "data"
    return f"data-{safe}"


def default_study() -> StudyPack:
    """The shipped default pack (Huang et al. 2024)."""
    return _load((DEFAULT_STUDY_DIR / STUDY_FILE).resolve())
