"""Digitised Kaplan–Meier curves as reconstruction constraints (issue 17, item 4).

A synthetic study is simulated and published (its printed figures); its OS curve is rendered with
matplotlib to a PNG at known axes limits, digitised *from the PNG's pixels* (the axes frame found
from its dark spines, the curve from its colour, pixel centres mapped to data coordinates), and
written with the risk table as a ``[[curve]]`` of the pack's ``constraints.toml``. The study is then
reconstructed and every draw is re-checked here, with arithmetic written in this file, against the
digitised points (within the stated tolerance) and the numbers at risk; ``verify_table`` re-checks
them with lifelines as well, beside every printed figure.

The tolerance is the digitisation's pixel resolution: two pixels in each direction. The curve is
drawn 1.5 pt wide (about 2 px at 100 dpi) and a column's curve pixels are averaged, so a point
read off a horizontal stretch is within half a pixel of the line's centre; the frame found from the
spines adds up to half a pixel; a point on a vertical drop is in the drop's column, within the
line's half width (about 1 px) of the drop. Two pixels bound all of these;
:func:`test_the_true_table_meets_the_digitised_curve` checks that the simulated table does meet
them (a tolerance too tight would exclude the truth).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from models.data import load_published
from models.endpoints import derive
from models.errors import ConfigError, DataError
from models.reconstruct import load_constraints, reconstruct, solve, verify_table
from models.reconstruct.constraints import Constraints
from models.reconstruct.curves import curve_bounds
from models.reconstruct.sampling import _draw_once
from models.study import load_study
from models.synthetic_study import publish, simulate_outcomes

#: 16 patients, 4 relapses, 6 deaths spread over two years (OS curve with six steps)
N_PATIENTS, SEED = 16, 8
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Axes:
    """A rendered plot's axes: time unit (days per unit, x limit), survival axis limit, risk-table times."""

    unit: str
    days: float
    x_max: float
    y_max: float
    risk_times: tuple[float, ...]


#: Months on x, survival probability on y (the fast test); days and percent (the slow one)
MONTHS = Axes("months", DAYS_PER_MONTH, 30.0, 1.05, (0, 6, 12, 18, 24))
DAYS = Axes("days", 1.0, 900.0, 105.0, (0, 150, 300, 450, 600, 750))
CURVE_COLOUR = (0.85, 0.1, 0.1)
TOL_PX = 2.0


# ----------------------------------------------------------------------------- render and digitise


def render_km(duration: np.ndarray, event: np.ndarray, png: Path, axes: Axes = MONTHS) -> None:
    """Draw the KM step curve as a journal figure would: frame, ticks, no censoring marks."""
    order = np.argsort(duration)
    t, e = duration[order] / axes.days, event[order]
    xs, ys, s, n = [0.0], [axes.y_max / 1.05], axes.y_max / 1.05, len(t)
    for k, (ti, ei) in enumerate(zip(t, e, strict=True)):
        if ei:
            s *= 1 - 1 / (n - k)
            xs.append(float(ti))
            ys.append(s)
    xs.append(float(t[-1]))
    ys.append(s)
    fig = plt.figure(figsize=(6, 4), dpi=100)
    ax = fig.add_axes((0.12, 0.15, 0.83, 0.78))
    ax.step(xs, ys, where="post", color=CURVE_COLOUR, linewidth=1.5)
    ax.set_xlim(0, axes.x_max)
    ax.set_ylim(0, axes.y_max)
    ax.set_xlabel(f"{axes.unit.capitalize()} from transplant")
    ax.set_ylabel("Survival")
    fig.savefig(png, dpi=100)
    plt.close(fig)


def _line_centres(weight: np.ndarray, axis: int, share: float) -> tuple[float, float]:
    """Centres (pixel units) of the first and last line spanning ``share`` of the image along ``axis``."""
    profile = weight.sum(axis=axis)
    idx = np.flatnonzero(profile > share * weight.shape[axis])
    groups = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    first, last = groups[0], groups[-1]
    centre = [float(np.average(g, weights=profile[g])) + 0.5 for g in (first, last)]
    return centre[0], centre[1]


def digitise(png: Path, axes: Axes = MONTHS) -> tuple[pd.DataFrame, float, float]:
    """Digitised (time, survival) points of the curve in ``png``, and one pixel in data units (x, y).

    The axes frame is the outermost dark lines spanning more than half the image; the curve's
    pixels are those close to its colour; each pixel column's curve pixels give one point at their
    weighted centre.
    """
    rgb = plt.imread(png)[..., :3].astype(float)
    dark = (rgb.sum(axis=2) < 0.9).astype(float)
    left, right = _line_centres(dark, 0, 0.5)
    top, bottom = _line_centres(dark, 1, 0.5)
    red = np.clip(rgb[..., 0] - np.maximum(rgb[..., 1], rgb[..., 2]), 0, None)
    red[red < 0.3] = 0.0
    px_x, px_y = axes.x_max / (right - left), axes.y_max / (bottom - top)
    rows = np.arange(rgb.shape[0]) + 0.5
    points = []
    for col in range(math.ceil(left), int(right)):
        w = red[:, col]
        if w.sum() == 0:
            continue
        y = float(np.average(rows, weights=w))
        points.append(((col + 0.5 - left) * px_x, (bottom - y) * px_y))
    return pd.DataFrame(points, columns=["time", "survival"]), px_x, px_y


def at_risk(duration: np.ndarray, time: float, axes: Axes = MONTHS) -> int:
    """Number at risk at a time: still under observation, ``T >= t`` (as a risk table prints it)."""
    return int((duration >= time * axes.days - 1e-9).sum())


def km_at(duration: np.ndarray, event: np.ndarray, day: float) -> float:
    """KM at ``day`` by the product over distinct event times (this file's own arithmetic)."""
    s = 1.0
    for t in sorted(set(duration[(event > 0) & (duration <= day)])):
        n = int((duration >= t).sum())
        d = int(((duration == t) & (event > 0)).sum())
        s *= 1 - d / n
    return s


# ----------------------------------------------------------------------------- fixtures


def _constraints(folder: Path) -> tuple[Constraints, object]:
    pack = load_study(folder)
    pub = load_published(folder / "published.toml", study=pack)
    cons = load_constraints(folder / "constraints.toml", pub, pack.load_baseline(folder / "baseline.csv"), study=pack)
    return cons, pack


CURVE_TOML = """
[[curve]]
name = "{endpoint}_curve"
endpoint = "{endpoint}"
population = "{population}"
points = "{endpoint}_points.csv"
risk_table = "{endpoint}_at_risk.csv"
time_unit = "{unit}"
survival_unit = "{scale}"
tolerance_survival = {tol_s:.5f}
tolerance_time = {tol_t:.5f}
"""


def curve_pack(
    folder: Path, n: int, seed: int, *, endpoint: str = "os", population: str = "cohort", axes: Axes = MONTHS
) -> dict:
    """Simulate and publish a study, render and digitise one KM curve, add it as a ``[[curve]]``.

    Returns the pack folder, the true table, the constraints without (``plain``) and with
    (``curved``) the curve, the digitised points and the risk table.
    """
    truth = simulate_outcomes(n, seed)
    sub = population if population != "cohort" else False
    publish(truth, folder, seed=seed, subgroup=sub, subgroup_endpoints=(endpoint,))
    plain, _pack = _constraints(folder)
    members = truth["patient"].map(plain.membership[population]).to_numpy(bool)
    d = derive(truth[members], endpoint, from_transplant=True)
    dur, ev = d["duration"].to_numpy(float), d["event"].to_numpy(int)
    render_km(dur, ev, folder / f"{endpoint}_curve.png", axes)
    points, px_x, px_y = digitise(folder / f"{endpoint}_curve.png", axes)
    points.to_csv(folder / f"{endpoint}_points.csv", index=False, float_format="%.5f")
    risk = pd.DataFrame({"time": axes.risk_times, "at_risk": [at_risk(dur, t, axes) for t in axes.risk_times]})
    risk.to_csv(folder / f"{endpoint}_at_risk.csv", index=False)
    scale = "probability" if axes.y_max < 2 else "percent"
    with (folder / "constraints.toml").open("a") as fh:
        fh.write(
            CURVE_TOML.format(
                endpoint=endpoint,
                population=population,
                unit=axes.unit,
                scale=scale,
                tol_s=TOL_PX * px_y,
                tol_t=TOL_PX * px_x,
            )
        )
    curved, _pack = _constraints(folder)
    return {"folder": folder, "truth": truth, "plain": plain, "curved": curved, "points": points, "risk": risk}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The OS curve (months, probability) of a 16-patient study."""
    return curve_pack(tmp_path_factory.mktemp("curve"), N_PATIENTS, SEED)


# ----------------------------------------------------------------------------- tests


def test_the_digitiser_reads_the_curve(study):
    """Sanity of the digitiser: hundreds of points, starting at S = 1, the last at the true final level."""
    pts, curve = study["points"], study["curved"].curves[0]
    assert len(pts) > 200
    assert abs(pts["survival"].iloc[0] - 1.0) < curve.tol_survival
    d = derive(study["truth"], "os", from_transplant=True)
    final = km_at(d["duration"].to_numpy(float), d["event"].to_numpy(int), math.inf)
    assert abs(pts["survival"].iloc[-1] - final) < curve.tol_survival
    # hundreds of points reduce to a few binding bounds: a handful around each step of the curve
    assert 0 < len(curve.lower) + len(curve.upper) <= 8 * int(d["event"].sum()) + 2


def test_only_binding_bounds_are_kept():
    """A one-step curve: S = 1 to day 15, then 0.5. Implied bounds are dropped, markers on half days."""
    points = ((0.0, 1.0), (10.0, 1.0), (20.0, 0.5), (30.0, 0.5))
    lower, upper, risk = curve_bounds(points, ((0.0, 4), (15.0, 2), (15.2, 2)), 0.05, 2.0)
    # S(8) >= 0.95 and S(28) >= 0.45 (S(18) >= 0.45 is implied by the latter); S(22) <= 0.55
    assert lower == ((8.5, 0.95), (28.5, 0.45))
    assert upper == ((22.5, 0.55),)
    # at risk at day 15 (and 15.2): T >= 15 (T >= 16), counted after a marker at 14.5 (15.5)
    assert risk == ((14.5, 2), (15.5, 2))


def test_the_true_table_meets_the_digitised_curve(study):
    """The tolerance is wide enough: the simulated table itself meets every curve check."""
    checks = verify_table(study["truth"], study["curved"])
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert {"os_curve points", "os_curve numbers at risk"} <= {c.name for c in checks}


def _check_draws(st: dict, axes: Axes, draws: int, seed: int) -> None:
    """Reconstruct; every draw meets every printed figure, the digitised points and the risk table."""
    cons = st["curved"]
    rec = reconstruct(cons, draws=draws, seed=seed)
    assert len(rec.draws) == draws
    curve = cons.curves[0]
    scale = axes.y_max / 1.05
    for draw in rec.draws:
        checks = verify_table(draw.table, cons)
        assert all(c.ok for c in checks), [c for c in checks if not c.ok]
        members = draw.table["patient"].map(cons.membership[curve.population]).to_numpy(bool)
        d = derive(draw.table[members], curve.endpoint, from_transplant=True)
        dur, ev = d["duration"].to_numpy(float), d["event"].to_numpy(int)
        for t, s in st["points"].itertuples(index=False):
            day, dt = t * axes.days, curve.tol_days
            assert km_at(dur, ev, day - dt) >= s / scale - curve.tol_survival - 1e-9
            assert km_at(dur, ev, day + dt) <= s / scale + curve.tol_survival + 1e-9
        for t, n in st["risk"].itertuples(index=False):
            assert at_risk(dur, t, axes) == n


def test_every_draw_matches_the_curve_and_every_figure(study):
    _check_draws(study, MONTHS, draws=5, seed=3)


@pytest.mark.slow
def test_a_subgroup_efs_curve_in_days_and_percent(tmp_path):
    """An EFS curve of the subgroup (days, percent) of a 20-patient study: tables match it and the text."""
    st = curve_pack(tmp_path, 20, 4, endpoint="efs", population="non_refractory_relapsed", axes=DAYS)
    assert all(c.ok for c in verify_table(st["truth"], st["curved"]))
    _check_draws(st, DAYS, draws=10, seed=5)
    assert _excluded(st, tries=20) > 0


@pytest.fixture(scope="module")
def solved(study):
    """Every consistent ordering without and with the curve."""
    return solve(study["plain"]), solve(study["curved"])


def test_the_curve_binds(study, solved):
    """Fewer risk-set histories with the curve, and tables consistent with the text that it excludes.

    Orderings themselves are not comparable (an ordering places every threshold marker, and the
    curve adds markers), but the distinct risk-set signatures of the printed figures are: every
    curve-consistent ordering without its curve markers is consistent with the text.
    """
    sol_plain, sol_curved = solved
    assert sol_curved.total > 0
    assert sol_curved.signatures < sol_plain.signatures, (len(sol_curved.signatures), len(sol_plain.signatures))
    assert _excluded(study, tries=15, solution=sol_plain) > 0


def _excluded(st: dict, *, tries: int, solution=None) -> int:
    """How many of ``tries`` tables drawn from the text alone the curve excludes (each meets the text)."""
    plain, curved = st["plain"], st["curved"]
    sol = solve(plain) if solution is None else solution
    rng = random.Random(11)
    out = 0
    for _ in range(tries):
        d = _draw_once(plain, sol, rng)
        if d is None:
            continue
        assert all(c.ok for c in verify_table(d.table, plain))  # consistent with every printed figure
        out += not all(c.ok for c in verify_table(d.table, curved))
    return out


# ----------------------------------------------------------------------------- input errors


@pytest.fixture()
def pack_copy(study, tmp_path):
    """A copy of the curve pack to spoil."""
    for f in study["folder"].iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    return tmp_path


def _spoil(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def _replays(cons: Constraints, table: pd.DataFrame, solution=None) -> bool:
    """Whether the search's own step rules (``_Search.child``) accept the ordering of ``table``.

    The table's events and last contacts, sorted by day, with the search's threshold markers at
    their days, are replayed in every configuration whose classes hold the table's paths.
    """
    steps = []
    for r in table.itertuples(index=False):
        path = []
        if not math.isnan(r.relapse_day):
            path.append((r.relapse_day, "R"))
        exit_step = {"nrm": "N", "relapse": "D"}.get(r.death_cause, "C")
        path.append((r.last_followup_day, exit_step))
        steps += [(day, r.patient, k, "".join(x for _d, x in path)) for k, (day, _x) in enumerate(path)]
    sol = solve(cons) if solution is None else solution
    for _config, search, _count in sol.searches:
        named = {cl.members[0]: c for c, cl in enumerate(search.classes) if cl.named}
        anon = {(cl.path, cl.populations): c for c, cl in enumerate(search.classes) if not cl.named}
        items = sorted([*steps, *((day, None, m, "") for m, day in enumerate(search.landmarks))], key=lambda x: x[0])
        state = search.initial()
        for _day, pid, k, path in items:
            if pid is None:
                state = search.child(state, ("L", k))
            else:
                pops = frozenset(p for p, m in cons.membership.items() if m[pid])
                c = named.get(pid, anon.get((path, pops)))
                if c is None or search.classes[c].path != path:
                    state = None
                else:
                    state = search.child(state, ("T", search.slots.index((c, k))))
            if state is None:
                break
        if state is not None and search._terminal(state) and search._terminal_ok(state[2]):
            return True
    return False


def test_the_search_and_verify_agree_on_concrete_tables(study, solved):
    """The true table's ordering is one the curve search accepts; tables the curve excludes are rejected by it."""
    plain, curved = study["plain"], study["curved"]
    sol_plain, sol_curved = solved
    assert _replays(curved, study["truth"], sol_curved)
    rng = random.Random(5)
    seen = 0
    for _ in range(10):
        d = _draw_once(plain, sol_plain, rng)
        if d is None:
            continue
        assert _replays(plain, d.table, sol_plain)
        ok = all(c.ok for c in verify_table(d.table, curved))
        assert _replays(curved, d.table, sol_curved) == ok
        seen += 1
    assert seen > 0


@pytest.mark.parametrize(
    ("name", "edit", "error", "words"),
    [
        ("os_points.csv", None, ConfigError, ["curve[0]", "field 'points'", "no such file"]),
        ("os_points.csv", "time,survival\n0,1\n1,abc\n", DataError, ["os_points.csv", "row 3", "'survival'", "abc"]),
        ("os_points.csv", "time,surv\n0,1\n", DataError, ["os_points.csv", "header", "time, survival"]),
        ("os_points.csv", "time,survival\n0,1\n5,0.8\n3,0.8\n", DataError, ["row 4", "'time'", "non-decreasing"]),
        ("os_points.csv", "time,survival\n0,1\n5,0.8\n6,0.9\n", DataError, ["row 4", "'survival'", "non-increasing"]),
        ("os_at_risk.csv", "time,at_risk\n0,16\n6,12\n12,13\n", DataError, ["row 4", "'at_risk'", "never increase"]),
        ("os_at_risk.csv", "time,at_risk\n0,16\n12,12\n6,13\n", DataError, ["row 4", "'time'", "increasing order"]),
        ("os_at_risk.csv", "time,at_risk\n0,15\n", DataError, ["row 2", "'at_risk'", "16 patients"]),
        ("os_at_risk.csv", "time,at_risk\n0,16\n6,2.5\n", DataError, ["row 3", "'at_risk'", "whole number"]),
    ],
)
def test_bad_curve_files_are_one_line_errors(pack_copy, name, edit, error, words):
    if edit is None:
        (pack_copy / name).unlink()
    else:
        _spoil(pack_copy, name, edit)
    with pytest.raises(error) as exc:
        _constraints(pack_copy)
    msg = str(exc.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('endpoint = "os"', 'endpoint = "pfs"', ["curve[0]", "field 'endpoint'", "'os', 'efs' or 'grfs'"]),
        ('population = "cohort"', 'population = "adults"', ["curve[0]", "field 'population'", "adults"]),
        ('time_unit = "months"', 'time_unit = "fortnights"', ["curve[0]", "field 'time_unit'"]),
        ("tolerance_survival = ", "tolerance_survivl = ", ["curve[0]", "tolerance_survivl"]),
    ],
)
def test_bad_curve_tables_are_one_line_errors(pack_copy, old, new, words):
    text = (pack_copy / "constraints.toml").read_text()
    assert old in text
    _spoil(pack_copy, "constraints.toml", text.replace(old, new))
    with pytest.raises(ConfigError) as exc:
        _constraints(pack_copy)
    msg = str(exc.value)
    assert "\n" not in msg and "constraints.toml" in msg
    for w in words:
        assert w in msg, msg


def test_a_curve_that_contradicts_the_text_is_named_in_the_conflict(pack_copy):
    """Lowering every digitised point after day 0 by a fifth contradicts the printed 1-year figure.

    The deletion search can leave the curve out like any printed figure, so the one-line error
    names it among the constraints that cannot all hold.
    """
    from models.reconstruct.conflicts import minimal_conflict

    pts = pd.read_csv(pack_copy / "os_points.csv")
    pts.loc[pts["time"] > 0, "survival"] *= 0.8
    pts.to_csv(pack_copy / "os_points.csv", index=False, float_format="%.5f")
    cons, _pack = _constraints(pack_copy)
    conflict = minimal_conflict(cons, qualifying=None, max_states=10**6)
    assert "curve.os_curve" in conflict.members, conflict.text()
    # Without the curve the printed figures alone admit orderings: the curve is what conflicts.
    assert solve(cons.__class__(**{**cons.__dict__, "curves": ()})).total > 0
