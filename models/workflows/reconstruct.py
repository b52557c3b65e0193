r"""The reconstruction workflow: a letter's published figures in, per-patient outcome tables out.

:func:`reconstruct_study` is what ``scripts/reconstruct.py`` runs: read a study pack's
``published.toml``, its Table 1 and a constraints file naming the published keys
(:func:`models.reconstruct.load_constraints`), count every ordering of events and censorings
consistent with all of them and draw ``draws`` distinct tables, each re-verified with lifelines
(:func:`models.reconstruct.reconstruct`; the method is in :mod:`models.reconstruct`). The result
holds the tables, the report of the search and each table's checks; ``write(folder)`` writes
``draw_001.csv`` ... and ``manifest.json`` all or nothing.

Settings errors name the setting (``gvhd_definitions``, ``draws``, ...); the script maps them to its options.
The method, its assumptions and the shipped numbers: :mod:`models.reconstruct` and ``docs/reconstruction.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import ConfigError, StudyError
from models.progress import Progress
from models.reconstruct.chain_run import BUDGET_PER_ITEM, DEFAULT_CHAINS, THIN_PER_ITEM, check_chain_budget
from models.reconstruct.vocabulary import DEFAULT_MAX_STATES, DEFAULT_MAX_TRIES

#: The draws and seed of the shipped reconstruction (``data/huang2024/reconstructed``).
RECONSTRUCT_DRAWS = 20
RECONSTRUCT_SEED = 1

#: What an ordering is, as the manifest states it.
ORDERING_DEFINITION = (
    "sequences of (class, step) labels plus threshold-day markers; patients of a class are exchangeable"
)


@dataclass(frozen=True)
class ReconstructSettings:
    """Everything that decides a reconstruction (the defaults are the shipped one's).

    Parameters
    ----------
    study
        A study pack folder (``study.toml``) of a published letter; ``None``: the shipped default
        (Huang et al. 2024).
    draws
        Number of distinct tables to draw (``M``).
    seed
        Seed of the one random stream the tables are drawn from.
    constraints, published, baseline
        A constraints TOML of published keys, a published-figures TOML and a Table 1 CSV (edited
        copies, read with the pack's populations); ``None``: the pack's own.
    gvhd_definitions
        Solve only these GRFS GvHD definitions of the constraints file (in the file's order);
        ``None``: all of them.
    max_states, max_tries
        Search bound per configuration; day-sampling attempts bound.
    workers, dask
        Local worker processes for the searches, or a Dask scheduler (an address such as
        ``tcp://10.0.0.5:8786``, or a cluster or client). The tables are the same either way.
    method, chains, thin, chain_budget
        ``"exact"`` (count every ordering), ``"chain"`` (Metropolis chains over the orderings,
        ``chains`` of them, in rounds of ``thin`` proposals per item of the ordering until their
        diagnostics pass or ``chain_budget`` proposals per item have run) or ``"auto"`` (exact
        unless its bound is hit, then the chain); :func:`models.reconstruct.reconstruct`.
    """

    study: str | Path | None = None
    draws: int = RECONSTRUCT_DRAWS
    seed: int = RECONSTRUCT_SEED
    constraints: str | Path | None = None
    published: str | Path | None = None
    baseline: str | Path | None = None
    gvhd_definitions: tuple[str, ...] | None = None
    max_states: int = DEFAULT_MAX_STATES
    max_tries: int = DEFAULT_MAX_TRIES
    workers: int = 1
    dask: Any = None
    method: str = "auto"
    chains: int = DEFAULT_CHAINS
    thin: int = THIN_PER_ITEM
    chain_budget: int = BUDGET_PER_ITEM


@dataclass
class ReconstructResult:
    """A reconstruction: its settings, the search's report and the drawn tables (``tables[name]``).

    ``tables`` maps ``draw_001.csv`` ... to the outcome tables (schema
    :data:`models.data.OUTCOME_COLUMNS`, days from transplant); ``audit`` holds one record per
    table as the manifest lists it (configuration, ordering, GvHD roster, reverse-KM median
    follow-up and every published figure against the value the table reproduces).
    """

    settings: ReconstructSettings
    study: Any
    reconstruction: Any
    tables: dict[str, Any]
    audit: list[dict[str, Any]]
    inputs: list[Path]
    seconds: float

    @property
    def orderings(self) -> int | None:
        """Consistent orderings of the GvHD definition the tables are drawn from (None: not counted, chain)."""
        n = self.reconstruction.report["orderings"]
        return None if n is None else int(n)

    @property
    def method(self) -> str:
        """The method the tables were drawn with: ``exact`` or ``chain``."""
        return str(self.reconstruction.report.get("method", {}).get("used", "exact"))

    def checks(self) -> Any:
        """Every table's checks as one DataFrame: file, figure, published, reproduced, ok."""
        import pandas as pd

        rows = [{"file": d["file"], **c} for d in self.audit for c in d["checks"]]
        return pd.DataFrame(rows, columns=["file", "name", "published", "reproduced", "ok"])

    def report(self) -> str:
        """The search per GvHD definition and follow-up reading, the draws and their checks."""
        rep = self.reconstruction.report
        n = len(self.tables)
        patients = len(next(iter(self.tables.values()))) if n else 0
        head = f"{self.study.label} — reconstruction: {n} distinct tables of {patients} patients"
        lines = [f"{head} (seed {self.settings.seed})"]
        for d in rep["gvhd_definitions"]:
            found = "a table found" if d["table_found"] else "no table"
            name = "(no GvHD definitions)" if d["name"] is None else f"GvHD definition {d['name']}:"
            lines.append(f"{name} {_count(d['orderings'])} consistent orderings ({found})")
        for r in rep["followup_readings"]:
            kind = "primary" if r["primary"] else "alternative, reported only"
            found = "a table found" if r["table_found"] else "no table"
            lines.append(f"follow-up reading {r['reading']} ({kind}): {_count(r['orderings'])} orderings ({found})")
        checks = self.checks()
        chosen = rep["chosen_definition"]
        if "chain" in rep:
            lines += _chain_lines(rep["chain"])
        lines.append(
            f"{n} tables drawn from {_count(self.orderings)} consistent orderings"
            + ("" if chosen is None else f" (definition {chosen})")
            + f" in {rep['draw_attempts']} attempts; re-verified with lifelines: "
            f"{int(checks['ok'].sum())}/{len(checks)} figure checks pass"
        )
        lines.append(f"solve {self.seconds:.1f} s")
        return "\n".join(lines)

    def write(self, folder: str | Path, *, command: str = "") -> list[Path]:
        """Write the tables and ``manifest.json`` into ``folder`` (replaced all or nothing); returns the files.

        ``command`` is recorded in the manifest (the command line, or the call that produced the result).
        """
        from models.data import format_outcomes
        from models.executor import where_run
        from models.io import atomic_write_csv, atomic_write_json, manifest, staged_directory

        folder = Path(folder)
        files = list(self.tables)
        extra = {
            "M": len(files),
            "orderings_consistent": self.orderings,
            "ordering_definition": ORDERING_DEFINITION,
            "solve_seconds": round(self.seconds, 1),
            **where_run(self.settings.workers, self.settings.dask),
            **self.reconstruction.report,
            "draws": self.audit,
        }
        doc = manifest(
            command=command or f"models.workflows.reconstruct_study({self.settings!r})",
            seed=self.settings.seed,
            inputs=self.inputs,
            outputs=files,
            extra=extra,
        )
        with staged_directory(folder) as stage:
            for name, table in self.tables.items():
                atomic_write_csv(stage / name, format_outcomes(table))
            atomic_write_json(stage / "manifest.json", doc)
        return [folder / name for name in files] + [folder / "manifest.json"]


def _count(n: int | None) -> str:
    return "(not counted: chain)" if n is None else f"{n:,}"


def default_output_folder(study: Any) -> Path:
    """Where a pack's reconstruction goes: its declared outcomes folder, else ``PACK/reconstructed``."""
    own = study.outcomes_path
    return own if own is not None and not own.is_file() else study.root / "reconstructed"


def require_constraints(study: Any, constraints: str | Path | None = None) -> None:
    """Refuse a pack with no constraints file (only a published letter's pack is reconstructed)."""
    if study.constraints_path is None and constraints is None:
        raise StudyError(
            study.source,
            where="files",
            field="constraints",
            found="missing",
            expected="a constraints file (only a pack of a published letter is reconstructed)",
        )


def _input(study: Any, given: str | Path | None, key: str, what: str) -> Path:
    """A given input file, else the pack's own (a pack with constraints declares all three)."""
    path = Path(given) if given is not None else study.files[key]
    if path is None:
        raise StudyError(
            study.source, where="files", field=key, found="missing", expected=f"{what} (given, or named in [files])"
        )
    return path


def _chain_lines(ch: dict[str, Any]) -> list[str]:
    """The chains' line of the report, and a warning when they did not show that they mix."""
    acc = [c["acceptance_rate"] for c in ch["chains"]]
    ex = [a for c in ch["chains"] for a in c["exchange_acceptance"]]
    shown = lambda d: ", ".join(f"{k} {'n/a' if v is None else v}" for k, v in d.items())  # noqa: E731
    lines = [
        f"method: {len(acc)} Metropolis chains with relaxed companions (figure tolerances x{ch['ladder'][1:]}), "
        f"acceptance {min(acc):.2f}-{max(acc):.2f}"
        + (f", exchanges accepted {min(ex):.3f}-{max(ex):.3f}" if ex else "")
        + f"; {ch['rounds'] * ch['thin_per_item']} proposals per item per chain; window rounds "
        f"{ch['window_rounds'][0]}-{ch['window_rounds'][1]}: split R-hat {shown(ch['split_rhat'])}; "
        f"bulk ESS {shown(ch['ess_bulk'])}"
    ]
    if not ch["converged"]:
        lines.append(
            f"warning: within --chain-budget {ch['budget_per_item']} the chains did not meet {ch['criterion']}: "
            "the tables are consistent but not shown to be spread as the uniform law; raise --chain-budget"
        )
    return lines


def _check(settings: ReconstructSettings) -> None:
    for name, least in (("draws", 1), ("seed", 0), ("max_states", 1), ("max_tries", 1)):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(name, found=value, expected=f"a whole number >= {least}")
    if settings.method not in ("auto", "exact", "chain"):
        raise ConfigError("method", found=settings.method, expected="one of ['auto', 'exact', 'chain']")
    for key in ("chains", "thin", "chain_budget"):
        value = getattr(settings, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(key, found=value, expected="a whole number >= 1")
    check_chain_budget(settings.chain_budget, settings.thin)


def _audit(rec: Any, cons: Any, files: list[str]) -> list[dict[str, Any]]:
    """Each table's manifest record, its checks recomputed with lifelines."""
    from models.reconstruct import reverse_km_median, verify_table

    chosen = rec.report.get("chosen_definition")
    qualifying = (
        tuple(next(d["qualifying"] for d in rec.report["gvhd_definitions"] if d["name"] == chosen)) if chosen else ()
    )
    out = []
    for name, d in zip(files, rec.draws, strict=True):
        checks = verify_table(d.table, cons, qualifying=qualifying)
        out.append(
            {
                "file": name,
                "configuration": d.configuration,
                "ordering": d.ordering,
                "gvhd_roster": d.gvhd_roster,
                "reverse_km_median_followup": reverse_km_median(d.table),
                "checks": [
                    {"name": c.name, "published": c.published, "reproduced": c.reproduced, "ok": c.ok} for c in checks
                ],
            }
        )
    return out


def reconstruct_study(
    settings: ReconstructSettings = ReconstructSettings(), *, progress: Progress | None = None
) -> ReconstructResult:
    """Reconstruct the outcome tables of ``settings``' study pack and check every one.

    ``progress`` (:mod:`models.progress`) receives a note per GvHD definition searched, every 50
    configurations and per table drawn.
    """
    from models.data import load_published
    from models.reconstruct import load_constraints, reconstruct
    from models.study import load_study

    s = settings
    _check(s)
    study = load_study(s.study)
    require_constraints(study, s.constraints)
    constraints = _input(study, s.constraints, "constraints", "a constraints TOML")
    published_path = _input(study, s.published, "published", "a published-figures TOML")
    baseline_path = _input(study, s.baseline, "baseline", "a Table 1 CSV")
    published = study.published() if published_path == study.published_path else None
    published = published or load_published(published_path, study=study)
    baseline = study.load_baseline(baseline_path)
    cons = load_constraints(constraints, published, baseline, study=study)
    if s.gvhd_definitions:
        known = {name for name, _q in cons.gvhd_definitions}
        unknown = [d for d in s.gvhd_definitions if d not in known]
        if unknown:
            raise ConfigError("gvhd_definitions", found=unknown[0], expected=f"one of {sorted(known)}")
        cons.gvhd_definitions = tuple(d for d in cons.gvhd_definitions if d[0] in s.gvhd_definitions)
    t0 = time.perf_counter()
    rec = reconstruct(
        cons,
        draws=s.draws,
        seed=s.seed,
        max_states=s.max_states,
        max_tries=s.max_tries,
        progress=None if progress is None else progress.note,
        workers=s.workers,
        dask=s.dask,
        method=s.method,
        chains=s.chains,
        thin=s.thin,
        budget=s.chain_budget,
    )
    seconds = time.perf_counter() - t0
    files = [f"draw_{i:03d}.csv" for i in range(1, len(rec.draws) + 1)]
    return ReconstructResult(
        settings=s,
        study=study,
        reconstruction=rec,
        tables={name: d.table for name, d in zip(files, rec.draws, strict=True)},
        audit=_audit(rec, cons, files),
        inputs=[published_path, baseline_path, constraints, study.toml],
        seconds=seconds,
    )
