"""A synthetic study's pack written the way a paper would print it (:func:`publish`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.constants import EVENT_RELAPSE
from models.endpoints import derive
from models.nonparametric import cif_at, km_at
from models.study.schema import PopulationRule, StudyInfo
from models.synthetic_study.simulate import DEFAULT_SUBGROUP, LANDMARK, LAST_FOLLOWUP, WINDOW
from models.synthetic_study.table1 import Column, _default_table1
from models.synthetic_study.text import (
    _and,
    _median_range,
    _num,
    _pct,
    _printed,
    _table1_text,
    _toml_table,
    _toml_value,
    _whole,
    _with_ci,
)


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
