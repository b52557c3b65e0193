"""Output folders and absurd sizes are refused before any computation, with one line and exit 2.

An existing file (or a symlink to one) named as an output folder used to be renamed to a hidden
``.old.PID`` and replaced by a folder; sizes such as ``--draws 1e9`` reached an allocation of
149 GiB. Each case below must end with exit status 2, one line naming the option, and the file
left as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from models.constants import REPO_ROOT
from models.errors import ConfigError
from models.io import check_output_folder, staged_directory


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_existing_file_and_symlinks(tmp_path):
    f = tmp_path / "results.csv"
    f.write_text("keep me")
    with pytest.raises(ConfigError, match="existing file"):
        check_output_folder(f, "--out")
    link = tmp_path / "link"
    link.symlink_to(f)
    with pytest.raises(ConfigError, match="symlink to a non-folder"):
        check_output_folder(link, "--out")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="symlink"):
        check_output_folder(dangling, "--out")
    with pytest.raises(ConfigError, match="is a file"):
        check_output_folder(f / "sub" / "out", "--out")
    real = tmp_path / "real"
    real.mkdir()
    to_dir = tmp_path / "to_dir"
    to_dir.symlink_to(real)
    assert check_output_folder(to_dir) == real.resolve()  # a symlink to a folder is followed
    with staged_directory(to_dir) as stage:
        (stage / "a.txt").write_text("x")
    assert (real / "a.txt").read_text() == "x" and to_dir.is_symlink()
    assert f.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_parent_is_refused_first(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            check_output_folder(ro / "out", "--out")
    finally:
        ro.chmod(0o700)


def test_leftovers_of_killed_runs_are_removed(tmp_path):
    dead = 2**22 + 12345  # above Linux's default pid_max of 4,194,304: no such process
    target = tmp_path / "out"
    leftovers = [tmp_path / f".out.{dead}.abc.staging", tmp_path / f".out.old.{dead}"]
    alive = tmp_path / f".out.{os.getppid()}.xyz.staging"  # a running process's: kept
    for p in [*leftovers, alive]:
        p.mkdir()
    with staged_directory(target) as stage:
        (stage / "x").write_text("1")
    assert not any(p.exists() for p in leftovers) and alive.exists()
    assert (target / "x").read_text() == "1"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["scripts/fit.py", "--draws", "1000000000"], "--draws"),
        (["scripts/fit.py", "--cuts", ""], "--cuts"),
        (["scripts/fit.py", "--cuts", "0,100,5000"], "beyond the last follow-up"),
        (["scripts/priors.py", "show", "literature", "--draws", "0"], "--draws"),
        (["scripts/priors.py", "show", "literature", "--draws", "1000000000000"], "--draws"),
        (["scripts/plan_trial.py", "--n-sims", "1"], "--n-sims"),
        (["scripts/plan_trial.py", "--n-grid", "10,1000000000"], "--n-grid"),
    ],
)
def test_absurd_sizes_exit_2_in_one_line(tmp_path, args, needle):
    extra = []
    if args[0] == "scripts/fit.py":
        extra = ["--out", str(tmp_path / "o"), "--no-figures"]
    elif args[0] == "scripts/plan_trial.py":
        extra = ["--out", str(tmp_path / "o"), "--figures", str(tmp_path / "f")]
    done = _script(*args, *extra)
    err = done.stderr.strip()
    assert done.returncode == 2 and "Traceback" not in err
    assert needle in err.splitlines()[-1] and sum("error" in line for line in err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["scripts/fit.py", "--no-figures", "--out", "{file}"],
        ["scripts/fit.py", "--out", "{dir}/o", "--figures-dir", "{file}"],
        ["scripts/priors.py", "plot", "weak", "--out", "{file}", "--results", "{dir}/r"],
        ["scripts/plan_trial.py", "--out", "{file}", "--figures", "{dir}/f"],
        ["scripts/sensitivity.py", "--out", "{file}", "--no-figures"],
        ["scripts/reconstruct.py", "--out", "{file}"],
    ],
)
def test_output_folder_that_is_a_file_is_refused_and_kept(tmp_path, args):
    f = tmp_path / "existing.csv"
    f.write_text("keep me")
    done = _script(*(a.format(file=f, dir=tmp_path) for a in args))
    assert done.returncode == 2 and "existing file" in done.stderr and "Traceback" not in done.stderr
    assert f.read_text() == "keep me" and not list(tmp_path.glob(".existing*"))
