"""The grid's optional [comparative] table: P(HR of relapse < 1) per scenario, control and control a0."""

from __future__ import annotations

import numpy as np
import pytest

from models.constants import REPO_ROOT
from models.data import load_outcome_draws
from models.errors import ConfigError
from models.sensitivity import load_config
from models.sensitivity.comparative import comparative_grid, comparative_verdict

GRID = """
[base]
prior = "weak"
draws_per_table = 10

[[factors]]
name = "prior set"
kind = "prior"
levels = ["weak", "literature", "md_anderson_commensurate"]

[[factors]]
name = "reconstruction"
kind = "table"
levels = "each"

[comparative]
controls = ["chang2020_msd"]
a0 = [0.0, 0.5, 1.0]
"""


def test_comparative_grid_rows_probabilities_and_skips(write):
    cfg = load_config(write("grid.toml", GRID))
    tables = load_outcome_draws(REPO_ROOT / "data" / "huang2024" / "reconstructed")[:2]
    tab = comparative_grid(cfg, tables)
    p = tab[tab["quantity"] == "p_hr_relapse_below_1"]
    # the base and the two gamma-mixture prior levels; each table alone is not compared
    assert set(p["scenario"]) == {"base", "prior=weak", "prior=literature"}
    same = p[p["scenario"].isin(["base", "prior=weak"])].pivot(index="control_a0", columns="scenario", values="value")
    assert np.array_equal(same["base"], same["prior=weak"])  # the weak level is the base scenario
    assert np.allclose(p[p["control_a0"] == 0]["value"], 0.5, atol=1e-9)  # no borrowing: the prior's 0.5
    skipped = tab[tab["status"].str.startswith("skipped")]
    assert list(skipped["level"]) == ["md_anderson_commensurate"]
    tips = tab[tab["quantity"] == "tipping_a0"]
    assert set(tips["status"]) <= {"never", "root", "skipped: not gamma mixtures"}
    # the weak-prior base at full borrowing is the fit's comparison (same engine, same data)
    from models.comparative import Treated, load_control
    from models.comparative.compare import p_relapse_benefit
    from models.prior_library import load_prior_set
    from models.pwe import Model

    model = Model(tables, priors=load_prior_set("weak", cfg.cuts, cfg.relapse_death_cuts), cuts=cfg.cuts)
    treated = Treated.from_model(model, 0)
    want = p_relapse_benefit(treated, load_control("chang2020_msd").data(treated.cuts), 1.0)
    got = p[(p["scenario"] == "base") & (p["control_a0"] == 1.0)]["value"].iloc[0]
    assert got == pytest.approx(want, abs=1e-12)
    (line,) = comparative_verdict(tab, 0.9)
    assert line.startswith("Against chang2020_msd: P(HR of relapse < 1) reaches 0.9 in ")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("a0 = [0.0, 0.5, 1.0]", "a0 = [0.0, 1.5]", "comparative.a0.1"),
        ('controls = ["chang2020_msd"]', 'controls = ["nope2020"]', "comparative.controls[0]"),
        ("a0 = [0.0, 0.5, 1.0]", "a0 = [0.0, 1.0]\nsd = 3", "comparative.sd"),
    ],
)
def test_bad_comparative_tables_are_one_line_errors(write, old, new, key):
    with pytest.raises(ConfigError) as exc:
        load_config(write("grid.toml", GRID.replace(old, new)))
    assert key in str(exc.value) and "\n" not in str(exc.value)
