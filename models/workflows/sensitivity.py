r"""The sensitivity workflow: a scenario grid and outcome tables in, scenario tables, verdict and figures out.

:func:`run_sensitivity` is what ``scripts/sensitivity.py`` runs: every scenario of a grid file
(default ``data/sensitivity/default.toml``) — prior sets, power-prior weight :math:`a_0`,
robust-mixture weight :math:`w`, the relapse prior's centre and weight, cut points, time origin and
each reconstructed table alone — fitted to the outcome tables with the exact conjugate engine (NUTS
only for priors it cannot fit), then the tipping points of the grid's claim, power-scaling and
prior–data agreement of the base prior, and a plain-language verdict (:mod:`models.sensitivity`).
The base scenario is the fit of :func:`models.workflows.fit_study` with the grid's seed, number for
number.

The seed, the draws and every modelling choice are in the grid file; the settings only say which
grid, which data and where the scenarios run. Settings errors name the setting (``data``,
``workers``, ``dask``); the command maps them to its options.

>>> from models.workflows.sensitivity import SensitivitySettings, run_sensitivity
>>> result = run_sensitivity(SensitivitySettings(workers=2))       # doctest: +SKIP
>>> result.tables["scenarios.csv"].head()                           # doctest: +SKIP
>>> print("\n".join(result.verdict))                                # doctest: +SKIP
>>> result.write("results/my_sensitivity")                          # doctest: +SKIP

References
----------
Greenland S. Int J Epidemiol 2006;35:765–75. Spiegelhalter DJ, Abrams KR, Myles JP. Bayesian
approaches to clinical trials and health-care evaluation. Wiley 2004, ch. 5. Kallioinen N et al.
Stat Comput 2023;34:57 (power-scaling).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import ConfigError
from models.executor import MAX_WORKERS
from models.progress import SILENT, Progress
from models.sensitivity.config import DEFAULT_CONFIG

if TYPE_CHECKING:
    from models.sensitivity import GridResult, SensitivityConfig
    from models.study import StudyPack

#: The CSV tables of a sensitivity run, in the order they are written.
TABLES = ("scenarios.csv", "tipping_points.csv", "power_scaling.csv")


@dataclass(frozen=True)
class SensitivitySettings:
    """Everything that decides a sensitivity run besides the grid file itself (defaults: the README's command).

    Parameters
    ----------
    config
        The scenario grid TOML (:func:`models.sensitivity.load_config`): prior, cut points, draws
        per table, the seed, claims, factors and the heat map's grid.
    study
        A study pack folder (``study.toml``); ``None``: the shipped default (Huang et al. 2024).
    data
        An outcome CSV or a folder of reconstructed ``draw_*.csv``; ``None``: the pack's own
        outcome tables.
    workers
        Local worker processes for the scenarios (the table is the same with any number).
    dask
        A Dask scheduler address (``tcp://host:8786``) or a ``distributed.Client`` to run the
        scenarios on instead; ``None``: local processes.
    resume
        Reuse the per-scenario cache of an interrupted run (``cache_dir`` of :func:`run_sensitivity`);
        ``False`` empties it first.
    """

    config: str | Path = DEFAULT_CONFIG
    study: str | Path | None = None
    data: str | Path | None = None
    workers: int = 1
    dask: Any = None
    resume: bool = True


@dataclass
class SensitivityResult:
    """A sensitivity run: its settings, grid, study and output tables (``tables[name]``).

    ``verdict`` holds the plain-language lines (``verdict.txt``); ``figures()`` draws the tornado
    and tipping-point figures on demand; ``write(folder)`` writes every output, all or nothing.
    """

    settings: SensitivitySettings
    config: SensitivityConfig
    study: StudyPack
    data: Path
    own_data: bool
    grid: GridResult
    tables: dict[str, Any]
    verdict: list[str]
    inputs: list[Path]

    @property
    def seconds(self) -> float:
        """Seconds the scenario grid took (as recorded in the manifest)."""
        return self.grid.seconds

    @property
    def n_tables(self) -> int:
        """Outcome tables every pooled scenario was fitted to."""
        return self.grid.n_tables

    def figures(self) -> dict[str, Any]:
        """The figures as matplotlib Figures by file stem: ``tornado_relapse_1y``, and with a heat-map grid
        ``tornado_claim`` and ``tipping_heatmap`` (the caller closes them)."""
        from models.workflows.sensitivity_outputs import sensitivity_figures

        return sensitivity_figures(self)

    def report(self) -> str:
        """The verdict, one line per conclusion (what the command prints)."""
        return "\n".join(self.verdict)

    def write(self, folder: str | Path, *, figures: bool = True, command: str = "") -> list[Path]:
        """Write the tables, ``verdict.txt``, figures and ``manifest.json`` into ``folder`` (replaced all or
        nothing); returns the files written."""
        from models.workflows.sensitivity_outputs import write_sensitivity

        return write_sensitivity(self, Path(folder), figures=figures, command=command)


def default_cache_dir(out: str | Path) -> Path:
    """The per-scenario cache of a run writing ``out``: the hidden folder ``.NAME-cache`` beside it.

    The command keeps it until the outputs are written, so an interrupted run resumes from it.
    """
    out = Path(out)
    return out.parent / f".{out.name}-cache"


def _data_path(study: StudyPack, data: str | Path | None) -> Path:
    """The outcome tables to analyse: ``data``, else the pack's own (which must exist)."""
    if data is not None:
        return Path(data)
    if study.outcomes_path is None:
        raise ConfigError(
            "data",
            found=f"none ({study.source} has no [files] outcomes)",
            expected="an outcome CSV or folder of draw_*.csv, or a pack with outcome tables",
        )
    study.check_outcomes_exist()
    return study.outcomes_path


def run_sensitivity(
    settings: SensitivitySettings = SensitivitySettings(),
    *,
    progress: Progress | None = None,
    cache_dir: str | Path | None = None,
) -> SensitivityResult:
    """Run every scenario of the grid on the outcome tables of ``settings``.

    Parameters
    ----------
    settings
        Grid file, study, data and where the scenarios run (:class:`SensitivitySettings`).
    progress
        Receives the scenarios done out of the total and a note per step (:mod:`models.progress`).
    cache_dir
        Folder of the per-scenario cache: each finished scenario is stored there at once, keyed by
        the grid file and the outcome tables' hashes, so an interrupted run resumes where it
        stopped. ``None``: no cache. The caller removes it once the outputs are safe
        (:func:`default_cache_dir` is where the command keeps it).

    Raises
    ------
    ConfigError
        A bad grid file (naming the file and key), ``workers`` out of range, an unreachable ``dask``
        scheduler, or no outcome tables (``data``).
    """
    from models.claims import CLAIMS_TOML
    from models.data import load_outcome_draws, outcome_files
    from models.io import sha256_paths
    from models.prior_sources import SETS_TOML, SOURCES_TOML
    from models.sensitivity import load_config, prior_files, run_grid
    from models.study import load_study

    s = settings
    if isinstance(s.workers, bool) or not isinstance(s.workers, int) or not 1 <= s.workers <= MAX_WORKERS:
        raise ConfigError("workers", found=s.workers, expected=f"a whole number from 1 to {MAX_WORKERS}")
    study = load_study(s.study)
    data = _data_path(study, s.data)
    config = Path(s.config)
    cfg = load_config(config)
    files = outcome_files(data)
    tables = load_outcome_draws(data)
    # the cache is keyed by the grid file's and the tables' contents: edited inputs never resume
    hashes = sha256_paths([config, *files])
    digest = hashlib.sha256("".join(sorted(hashes.values())).encode()).hexdigest()
    cache = None if cache_dir is None else Path(cache_dir)
    if not s.resume and cache is not None and cache.exists():
        shutil.rmtree(cache)
    grid = run_grid(
        cfg,
        tables,
        progress=progress or SILENT,
        cache_dir=cache,
        data_digest=digest,
        workers=s.workers,
        dask=s.dask,
    )
    comparative = {}
    verdict = list(grid.verdict)
    controls: list[Path] = []
    names = () if cfg.comparative is None else cfg.comparative.controls or study.controls
    if cfg.comparative is not None and not names:
        (progress or SILENT).note(
            f"no comparison with controls: the grid's [comparative] names none and so does {study.source}"
        )
    if names:  # optional: a grid without [comparative], or a study without controls, writes what it wrote before
        from models.comparative import load_controls
        from models.sensitivity.comparative import comparative_grid, comparative_verdict

        (progress or SILENT).note("comparing with no-maintenance controls over the factor scenarios")
        packs = load_controls(names)
        comparative["comparative.csv"] = comparative_grid(cfg, tables, packs)
        titles = {name: pack.title for name, pack in packs.items()}
        verdict += comparative_verdict(comparative["comparative.csv"], min(cfg.decision_thresholds), titles)
        controls = [p.root / "control.toml" for p in packs.values()]
    return SensitivityResult(
        settings=s,
        config=cfg,
        study=study,
        data=data,
        own_data=study.owns_outcomes(data),
        grid=grid,
        tables={
            "scenarios.csv": grid.table,
            "tipping_points.csv": grid.tipping,
            "power_scaling.csv": grid.power_scaling,
            **comparative,
        },
        verdict=verdict,
        inputs=[config, *files, SOURCES_TOML, SETS_TOML, CLAIMS_TOML, *prior_files(cfg), *controls],
    )
