"""A synthetic study published the way a paper would be, to test reconstruction end to end.

:func:`simulate_outcomes` draws individual patient data (entry into maintenance, relapse and
non-relapse death competing, death after relapse, administrative censoring at a study cut-off);
:func:`publish` writes what a letter would print — rounded Kaplan–Meier landmark estimates with
R's log interval, a cumulative incidence of relapse, counts, median (range) of follow-up and of
entry — as a study pack: ``published.toml``, a Table 1 ``baseline.csv``, ``constraints.toml`` and
``study.toml`` declaring Table 1's columns and the populations the figures refer to (optionally a
``letter.txt`` printing every figure, whose sentences are the figures' quotes). Reconstruction from
these files must reproduce every printed number.

Table 1's columns (:class:`Column`: how each is declared and drawn), the population rules and the
study's description are parameters; without them :func:`publish` writes the Huang-shaped Table 1
of the default pack and its ``non_refractory_relapsed`` population, as it always has.

A generator file (TOML: ``[generator]`` settings, ``[study]``, ``[[columns]]``,
``[populations.<name>]``) describes a whole synthetic pack; :func:`generate` and the command line
write it::

    python -m models.synthetic_study data/synthetic_aml_letter/generator.toml --out data/synthetic_aml_letter
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from models.constants import EVENT_RELAPSE
from models.data import validate_outcomes
from models.endpoints import derive
from models.nonparametric import cif_at, km_at
from models.schema import Schema
from models.study.schema import PopulationRule, StudyInfo

Endpoint = Literal["os", "efs"]

LAST_FOLLOWUP = dt.date(2024, 3, 10)
WINDOW = ("2022-01", "2023-10")
LANDMARK = 365
#: Population of the default subgroup figure (a rule of the default pack)
DEFAULT_SUBGROUP = "non_refractory_relapsed"


def _admin_days(rng: np.random.Generator, n: int) -> np.ndarray:
    start, end = dt.date(2022, 1, 1), dt.date(2023, 10, 31)
    offsets = rng.integers(0, (end - start).days + 1, n)
    return np.array([(LAST_FOLLOWUP - (start + dt.timedelta(days=int(o)))).days for o in offsets])


def simulate_outcomes(
    n: int,
    seed: int,
    *,
    nrm_rate: float = 0.0006,
    relapse_rate: float = 0.0008,
    death_after_relapse_rate: float = 0.004,
) -> pd.DataFrame:
    """Per-patient outcomes (days from transplant) with distinct event and last-contact days.

    Exponential hazards (per day) from entry; alive patients are censored at the study's last
    follow-up date. Distinct days keep every event time untied, as the reconstruction assumes.
    """
    rng = np.random.default_rng(seed)
    while True:
        admin = _admin_days(rng, n)
        # maintenance starts before the study's cut-off (a patient is seen at least once on it)
        entry = np.array([rng.integers(40, min(201, a - 10)) for a in admin])
        rows = []
        for i in range(n):
            e, a = int(entry[i]), int(admin[i])
            t_rel = e + 1 + int(rng.exponential(1 / relapse_rate))
            t_nrm = e + 1 + int(rng.exponential(1 / nrm_rate))
            row: dict[str, Any] = {
                "patient": f"P{i + 1}",
                "entry_day": e,
                "relapse_day": math.nan,
                "gvhd_day": math.nan,
                "death_day": math.nan,
                "death_cause": "",
                "last_followup_day": a,
            }
            if t_rel < min(t_nrm, a):
                row["relapse_day"] = t_rel
                t_d = t_rel + 1 + int(rng.exponential(1 / death_after_relapse_rate))
                if t_d < a:
                    row.update(death_day=t_d, death_cause="relapse", last_followup_day=t_d)
            elif t_nrm < a:
                row.update(death_day=t_nrm, death_cause="nrm", last_followup_day=t_nrm)
            rows.append(row)
        days = [d for r in rows for d in (r["relapse_day"], r["last_followup_day"]) if not math.isnan(d)]
        if (
            len(days) == len(set(days))
            and LANDMARK not in days
            and LANDMARK not in {r["last_followup_day"] for r in rows}
        ):
            return validate_outcomes(pd.DataFrame(rows), "synthetic outcomes")


# ----------------------------------------------------------------------------- Table 1


class Column(Schema):
    """One synthetic Table 1 column: its declaration in ``study.toml`` and how its values are drawn.

    ``id``: the patients' IDs. ``integer``: uniform on ``[min, max]``. ``number``: uniform on
    ``[min, max]``, one decimal. ``category``: one of ``values`` with probabilities ``weights``
    (default: equal). ``text``: the constant ``text``.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: Literal["id", "integer", "number", "category", "text"]
    values: list[str] | None = None
    weights: list[float] | None = None
    min: int | float | None = None
    max: int | float | None = None
    text: str | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _drawable(self) -> Column:
        if self.type == "category":
            if not self.values:
                raise ValueError("values = [...] for a category column")
            if self.weights is not None and (
                len(self.weights) != len(self.values) or min(self.weights) < 0 or sum(self.weights) <= 0
            ):
                raise ValueError("weights: one non-negative probability per value")
        elif self.values is not None or self.weights is not None:
            raise ValueError("values/weights only for a category column")
        if self.type in ("integer", "number") and (self.min is None or self.max is None or self.min > self.max):
            raise ValueError("min <= max for a numeric column")
        if self.type == "text" and self.text is None:
            raise ValueError("text = '...' (the constant printed in every row)")
        return self

    def declaration(self) -> dict[str, Any]:
        """The column's entry in ``study.toml`` ``[columns]``."""
        out: dict[str, Any] = {"type": self.type}
        if self.values is not None:
            out["values"] = list(self.values)
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.label is not None:
            out["label"] = self.label
        return out

    def draw(self, rng: np.random.Generator, patients: pd.Series) -> np.ndarray:
        n = len(patients)
        if self.type == "id":
            return patients.astype(str).to_numpy()
        if self.type == "integer":
            return rng.integers(int(self.min or 0), int(self.max or 0) + 1, n)
        if self.type == "number":
            return np.round(rng.uniform(float(self.min or 0), float(self.max or 0), n), 1)
        if self.type == "category":
            p = None if self.weights is None else np.asarray(self.weights, float) / sum(self.weights)
            return rng.choice(np.asarray(self.values), n, p=p)
        return np.full(n, self.text, dtype=object)


def _default_table1(rng: np.random.Generator, patients: pd.Series) -> pd.DataFrame:
    """The Huang-shaped Table 1 of the default pack (about 40% refractory/relapsed)."""
    n = len(patients)
    rr = np.array(["Y" if rng.random() < 0.4 else "N" for _ in range(n)])
    return pd.DataFrame(
        {
            "patient": patients,
            "age": rng.integers(18, 70, n),
            "sex": rng.choice(["Male", "Female"], n),
            "diagnosis": "Ph-negative B-ALL",
            "molecular_alterations": "NA",
            "r_dri": "High risk",
            "cytogenetic_molecular_risk": "High risk",
            "refractory_relapsed": rr,
            "disease_status_pre_hsct": "CR1 with undetectable MRD",
            "molecular_alterations_pre_hsct": "NA",
            "donor_type": "HID",
            "days_diagnosis_to_hsct": rng.integers(90, 400, n),
        }
    )


# ----------------------------------------------------------------------------- TOML and text


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, Sequence):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML form for {v!r}")


def _toml_table(name: str, items: Mapping[str, Any]) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in items.items() if v is not None)


def _median_range(values: np.ndarray) -> tuple[float, float, float]:
    v = np.sort(np.asarray(values, float))
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return float(med), float(v[0]), float(v[-1])


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _whole(x: float) -> int | float:
    """A day count as printed: whole days without a decimal point."""
    return int(x) if float(x).is_integer() else float(x)


def _pct(x: float) -> float:
    return round(100 * x, 1)


def _printed(x: float) -> str:
    """A percentage as a letter prints it: one decimal, a bare 100."""
    return "100" if x == 100 else f"{x:.1f}"


def _with_ci(value: float, ci: tuple[float, float]) -> str:
    return f"{_printed(value)}% (95% CI {_printed(ci[0])}–{_printed(ci[1])}%)"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _table1_text(base: pd.DataFrame, columns: Sequence[Column]) -> str:
    """Table 1 as a letter's plain text prints it: one row per patient, aligned columns."""
    heads = [c.label or c.name for c in columns]
    rows = [[str(v) for v in base[c.name]] for c in columns]
    widths = [max(len(h), *(len(x) for x in col)) for h, col in zip(heads, rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    for i in range(len(base)):
        lines.append("  ".join(col[i].ljust(w) for col, w in zip(rows, widths, strict=True)).rstrip())
    return "\n".join(lines)


# ----------------------------------------------------------------------------- publish


def publish(
    outcomes: pd.DataFrame,
    folder: Path,
    *,
    seed: int,
    subgroup: bool | str = True,
    columns: Sequence[Column] | None = None,
    populations: Mapping[str, PopulationRule | Mapping[str, Any]] | None = None,
    study: Mapping[str, Any] | None = None,
    subgroup_endpoints: Sequence[str] = ("os",),
    entry_figure: str = "transplant_to_blinatumomab",
    letter: bool = False,
    intro: str = "",
    outcomes_dir: str | None = None,
) -> dict[str, Path]:
    """Write a study pack for ``outcomes``: published figures, Table 1, constraints and ``study.toml``.

    Parameters
    ----------
    seed
        Seeds Table 1's random columns.
    subgroup
        ``True``: the 1-year estimates of ``subgroup_endpoints`` are printed for the first of
        ``populations`` beside the cohort's, as papers do; a name: for that population; ``False``:
        cohort figures only.
    columns
        Table 1's columns in printed order (exactly one ``id`` column, patients ``P1`` ...);
        default: the Huang-shaped Table 1 of the default pack (about 40% refractory/relapsed).
    populations
        Population rules over Table 1, written to ``study.toml``; default: the default pack's
        ``non_refractory_relapsed``.
    study
        ``[study]`` keys of ``study.toml`` (id, title, short_name, citation, ...), over synthetic
        defaults.
    entry_figure
        Key of the median (range) of the entry day.
    letter
        Also write ``letter.txt``, a short letter printing every figure; each figure's quote is its
        sentence there (otherwise quotes are placeholders and ``study.toml`` names no text).
    intro
        The letter's opening paragraph.
    outcomes_dir
        Name the pack's outcome tables (e.g. ``"reconstructed"``, once they exist) in ``study.toml``.

    Returns the paths written: ``published``, ``baseline``, ``constraints``, ``study`` (and ``text``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    n = len(outcomes)
    rng = np.random.default_rng(seed)
    if columns is None:
        from models.study import default_study

        pack = default_study()
        base = _default_table1(rng, outcomes["patient"])
        declared = {
            name: {
                k: _whole(v) if isinstance(v, float) else v for k, v in spec.model_dump(exclude_defaults=True).items()
            }
            for name, spec in pack.columns.items()
        }
        rules: dict[str, PopulationRule] = {DEFAULT_SUBGROUP: pack.populations[DEFAULT_SUBGROUP]}
    else:
        ids = [c.name for c in columns if c.type == "id"]
        if len(ids) != 1:
            raise ValueError(f"exactly one id column in Table 1 (found {ids})")
        base = pd.DataFrame({c.name: c.draw(rng, outcomes["patient"]) for c in columns})
        declared = {c.name: c.declaration() for c in columns}
        rules = {}
    if populations is not None:
        rules = {
            k: v if isinstance(v, PopulationRule) else PopulationRule.model_validate(v) for k, v in populations.items()
        }
    base.to_csv(folder / "baseline.csv", index=False, lineterminator="\n")
    sub = next(iter(rules), None) if subgroup is True else (subgroup or None)
    if sub is not None and sub not in rules:
        raise ValueError(f"subgroup population {sub!r} is not among {sorted(rules)}")

    info: dict[str, Any] = {
        "id": "synthetic",
        "title": "A synthetic study simulated to test reconstruction",
        "short_name": "Synthetic study",
        "citation": f"Synthetic study simulated by models.synthetic_study (seed {seed}); not a real cohort.",
        "time_origin": "allogeneic transplant (day 0)",
        "entry": "first day of maintenance",
        "last_followup_date": LAST_FOLLOWUP,
        **(study or {}),
    }
    if letter:
        info["text"] = "letter.txt"
    StudyInfo.model_validate(info)  # fail here, not when the pack is loaded

    mask_of: dict[str, np.ndarray] = {"cohort": np.ones(n, bool)}
    if sub is not None:
        from models.study.table1 import evaluate_population

        mask_of[sub] = evaluate_population(base, sub, rules, "synthetic Table 1").to_numpy(bool)
        if not mask_of[sub].any():
            raise ValueError(f"subgroup population {sub!r} matches no patient")

    figs: list[str] = []
    sentences: list[str] = []

    def figure(key: str, items: Mapping[str, Any]) -> None:
        figs.append(_toml_table(f"figure.{key}", items))

    def km(endpoint: str, population: str) -> tuple[float, tuple[float, float]]:
        mask = mask_of[population]
        d = derive(outcomes[mask], endpoint, from_transplant=True)
        est = km_at(d["duration"], d["event"], LANDMARK)
        return _pct(est.estimate), (_pct(est.lower), _pct(est.upper))

    def km_figures(endpoints: Sequence[str], population: str) -> None:
        ests = {e: km(e, population) for e in endpoints}
        verb = "were" if len(endpoints) > 1 else "was"
        values = _and([_with_ci(*ests[e]) for e in endpoints]) + (", respectively." if len(endpoints) > 1 else ".")
        names = _and([e.upper() for e in endpoints])
        if population == "cohort":
            sentence = f"The 1-year {names} of the whole cohort {verb} {values}"
        else:
            who = rules[population].label or population.replace("_", " ")
            sentence = (
                f"In the subgroup of {who} (n = {int(mask_of[population].sum())}), the 1-year {names} {verb} {values}"
            )
        sentences.append(sentence)
        for e in endpoints:
            value, ci = ests[e]
            figure(
                f"{e}_1y" if population == "cohort" else f"{e}_1y_{population}",
                {
                    "statistic": "km_survival",
                    "value": value,
                    "ci": list(ci),
                    "unit": "percent",
                    "denominator": int(mask_of[population].sum()),
                    "population": population,
                    "endpoint": e,
                    "landmark_days": LANDMARK,
                    "decimals": 1,
                    "quote": sentence if letter else f"synthetic 1-year {e} estimate",
                },
            )

    relapses = int(outcomes["relapse_day"].notna().sum())
    dr = int((outcomes["death_cause"] == "relapse").sum())
    dn = int((outcomes["death_cause"] == "nrm").sum())
    fu = _median_range(outcomes["last_followup_day"].to_numpy())
    en = _median_range(outcomes["entry_day"].to_numpy())
    d = derive(outcomes, "relapse", from_transplant=True)
    cif = _pct(cif_at(d["duration"], d["event"], EVENT_RELAPSE, float(d["duration"].max())))

    q_n = f"A total of {n} patients were included in this analysis."
    q_entry = (
        f"Maintenance started at a median of {_num(en[0])} (range: {_num(en[1])}–{_num(en[2])}) days "
        "after transplantation."
    )
    q_fu = f"The median follow-up was {_num(fu[0])} (range: {_num(fu[1])}–{_num(fu[2])}) days for all patients."
    q_rel = f"The cumulative incidence of relapse was {_printed(cif)}% (n = {relapses})."
    q_deaths = (
        f"At the last follow-up, {n - dr - dn} patients were alive; causes of death were relapse (n = {dr}) "
        f"and non-relapse mortality (n = {dn})."
    )
    sentences += [q_entry, q_fu]
    km_figures(("os", "efs"), "cohort")
    if sub is not None:
        km_figures(tuple(subgroup_endpoints), sub)
    sentences += [q_rel, q_deaths]
    figure(
        "relapse_rate",
        {
            "statistic": "cumulative_incidence",
            "value": cif,
            "count": relapses,
            "unit": "percent",
            "denominator": n,
            "endpoint": "relapse",
            "decimals": 1,
            "quote": q_rel if letter else "synthetic relapse incidence",
        },
    )
    for key, val, unit, quote in (
        ("n_included", n, "patients", q_n),
        ("deaths_relapse", dr, "deaths", q_deaths),
        ("deaths_nrm", dn, "deaths", q_deaths),
        ("alive", n - dr - dn, "patients", q_deaths),
    ):
        figure(
            key,
            {"statistic": "count", "value": val, "unit": unit, "quote": quote if letter else f"synthetic count {key}"},
        )
    for key, (med, lo, hi), quote in (("followup", fu, q_fu), (entry_figure, en, q_entry)):
        figure(
            key,
            {
                "statistic": "median",
                "value": _whole(med),
                "range": [_whole(lo), _whole(hi)],
                "unit": "days",
                "denominator": n,
                "quote": quote if letter else f"synthetic median {key}",
            },
        )
    head = (
        f'[study]\nn_patients = {n}\ntransplant_window = ["{WINDOW[0]}", "{WINDOW[1]}"]\n'
        f"last_followup_date = {LAST_FOLLOWUP.isoformat()}\n"
    )
    (folder / "published.toml").write_text(head + "\n" + "\n".join(figs), encoding="utf-8")

    subgroup_km = "".join(f'[[km]]\nfigure = "{e}_1y_{sub}"\n' for e in (subgroup_endpoints if sub is not None else ()))
    cons = (
        '[study]\npopulation_size = "n_included"\n'
        '[[km]]\nfigure = "os_1y"\n[[km]]\nfigure = "efs_1y"\n'
        + subgroup_km
        + '[[cif]]\nfigure = "relapse_rate"\nlandmark = "plateau"\n'
        '[events]\nrelapse = "relapse_rate"\ndeath_relapse = "deaths_relapse"\n'
        'death_nrm = "deaths_nrm"\nalive = "alive"\n'
        '[followup]\nfigure = "followup"\nreading = "all"\n'
        f'[entry]\nfigure = "{entry_figure}"\n'
        "[admin_censoring]\nenabled = true\n"
    )
    (folder / "constraints.toml").write_text(cons, encoding="utf-8")

    files = {"baseline": "baseline.csv", "published": "published.toml", "constraints": "constraints.toml"}
    if outcomes_dir is not None:
        files["outcomes"] = outcomes_dir
    study_toml = (
        f"# Study pack written by models.synthetic_study.publish (seed {seed}): synthetic, not a real cohort.\n\n"
        + _toml_table("study", info)
        + "\n"
        + _toml_table("files", files)
        + "\n[columns]\n"
        + "".join(f"{name} = {_toml_value(spec)}\n" for name, spec in declared.items())
        + "".join(
            "\n" + _toml_table(f"populations.{name}", rule.model_dump(exclude_none=True))
            for name, rule in rules.items()
        )
    )
    (folder / "study.toml").write_text(study_toml, encoding="utf-8")
    paths = {
        "published": folder / "published.toml",
        "baseline": folder / "baseline.csv",
        "constraints": folder / "constraints.toml",
        "study": folder / "study.toml",
    }
    if letter:
        body = [
            info["title"],
            "",
            f"{info['citation']}",
            "",
            "This letter is synthetic: every patient and every number in it were simulated by "
            f"models.synthetic_study (seed {seed}) to test the reconstruction of per-patient data from "
            "published figures. It describes no real cohort.",
            "",
            "To the Editor:",
            "",
        ]
        if intro:
            body += [intro.strip(), ""]
        body += [
            f"Patients transplanted between January 2022 and October 2023 were eligible. {q_n} Their "
            "characteristics are listed in Table 1. All endpoints were measured from the date of "
            "transplantation; overall survival (OS) and event-free survival (EFS) were estimated with the "
            "Kaplan–Meier method and log-transformed 95% confidence intervals, and the cumulative incidence "
            "of relapse with death without relapse as a competing risk. The last follow-up was on "
            f"{LAST_FOLLOWUP:%B} {LAST_FOLLOWUP.day}, {LAST_FOLLOWUP.year}.",
            "",
            " ".join(sentences),
            "",
            "Table 1. Patient characteristics",
            "",
            _table1_text(base, columns) if columns is not None else base.to_csv(index=False).strip(),
            "",
        ]
        (folder / "letter.txt").write_text("\n".join(body), encoding="utf-8")
        paths["text"] = folder / "letter.txt"
    return paths


# ----------------------------------------------------------------------------- generator files


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

    ``[files] outcomes`` is named in ``study.toml`` only once that folder holds ``draw_*.csv``
    (``scripts/reconstruct.py --study OUT`` writes it): generate, reconstruct, generate again.
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
    own = s.outcomes if s.outcomes is not None and any((folder / s.outcomes).glob("draw_*.csv")) else None
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


def main(argv: list[str] | None = None) -> int:
    """``python -m models.synthetic_study GENERATOR.toml --out FOLDER``."""
    from models.cli import ArgumentParser, run_guarded

    p = ArgumentParser(prog="synthetic_study", description="Simulate and publish a synthetic study pack.")
    p.add_argument("generator", type=Path, help="generator TOML ([generator], [study], [[columns]], [populations])")
    p.add_argument("--out", type=Path, required=True, help="the pack's folder (files written into it)")
    args = p.parse_args(argv)

    def body() -> int:
        paths = generate(args.generator, args.out)
        print("wrote " + ", ".join(sorted(p.name for p in paths.values())) + f" to {args.out}")
        return 0

    return run_guarded("synthetic_study", body)


if __name__ == "__main__":
    sys.exit(main())
