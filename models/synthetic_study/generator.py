"""Generator files: a whole synthetic pack described in TOML, loaded and written.

A generator file has ``[generator]`` settings, ``[study]``, ``[[columns]]`` and
``[populations.<name>]``; :func:`load_generator` validates it and :func:`generate` simulates and
publishes the pack it describes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from models.schema import Schema
from models.study.schema import PopulationRule, StudyInfo
from models.synthetic_study.publish import publish
from models.synthetic_study.simulate import simulate_outcomes
from models.synthetic_study.table1 import Column

Endpoint = Literal["os", "efs"]


def _os_only() -> list[Endpoint]:
    return ["os"]


class GeneratorSettings(Schema):
    """``[generator]`` of a generator file: the simulation and what the letter prints."""

    n: int = Field(ge=5, le=200)
    seed: int = Field(ge=0)
    nrm_rate: float = Field(default=0.0006, gt=0)
    relapse_rate: float = Field(default=0.0008, gt=0)
    death_after_relapse_rate: float = Field(default=0.004, gt=0)
    subgroup: bool | str = True
    subgroup_endpoints: list[Endpoint] = Field(default_factory=_os_only)
    entry_figure: str = "transplant_to_maintenance"
    letter: bool = True
    intro: str = ""
    outcomes: str | None = None


class GeneratorFile(Schema):
    """A generator file: settings, the ``[study]`` table, Table 1's columns and the populations."""

    generator: GeneratorSettings
    study: StudyInfo
    columns: list[Column]
    populations: dict[str, PopulationRule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> GeneratorFile:
        if [c.type for c in self.columns].count("id") != 1:
            raise ValueError("exactly one [[columns]] entry of type = 'id'")
        sub = self.generator.subgroup
        if sub is True and not self.populations:
            raise ValueError("a [populations.<name>] for the subgroup figures (or generator.subgroup = false)")
        if isinstance(sub, str) and sub not in self.populations:
            raise ValueError(f"generator.subgroup among the populations {sorted(self.populations)}")
        return self


def load_generator(path: str | os.PathLike[str]) -> GeneratorFile:
    """Read and validate a generator file (errors name the file and key)."""
    from models.errors import ConfigError
    from models.io import read_toml
    from models.schema import validate

    return validate(GeneratorFile, read_toml(path, ConfigError, "generator TOML file"), str(path), ConfigError)


def generate(spec: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Simulate and publish the pack a generator file describes, into ``out``.

    ``[files] outcomes`` names the folder ``scripts/reconstruct.py --study OUT`` then writes
    (a letter's pack may name it before the first reconstruction): generate, then reconstruct.
    """
    g = load_generator(spec)
    s = g.generator
    folder = Path(out)
    truth = simulate_outcomes(
        s.n,
        s.seed,
        nrm_rate=s.nrm_rate,
        relapse_rate=s.relapse_rate,
        death_after_relapse_rate=s.death_after_relapse_rate,
    )
    own = s.outcomes  # a letter's pack may name its outcomes folder before the first reconstruction
    return publish(
        truth,
        folder,
        seed=s.seed,
        subgroup=s.subgroup,
        columns=g.columns,
        populations=g.populations,
        study=g.study.model_dump(exclude_none=True),
        subgroup_endpoints=s.subgroup_endpoints,
        entry_figure=s.entry_figure,
        letter=s.letter,
        intro=s.intro,
        outcomes_dir=own,
    )
