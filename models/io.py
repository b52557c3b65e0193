"""Reading TOML inputs, atomic output writing, input hashing and run manifests.

Nothing partial is ever left behind: files are written to a temporary sibling and renamed, and
multi-file outputs are assembled in a temporary folder that replaces the target folder only once
everything has been written. Posterior files (InferenceData) are read and written only by
:mod:`models.posterior_io`.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from models.constants import REPO_ROOT
from models.errors import ConfigError, ToolkitError

#: Largest TOML input read (bytes): every shipped file is under 100 kB; a larger one is not an input.
TOML_MAX_BYTES = 10_000_000


def read_toml(
    path: str | os.PathLike[str], kind: type[ToolkitError] = ConfigError, what: str = "TOML file"
) -> dict[str, Any]:
    """Parse a TOML input file; every way it can fail is a one-line ``kind`` error naming the file.

    A UTF-8 byte-order mark (written by some Windows editors) is accepted; a missing file, a
    folder, an unreadable or oversized file, bytes that are not UTF-8 and malformed TOML are refused.
    """
    p = Path(path)
    if not str(path).strip():
        raise kind("(empty path)", found="an empty file name", expected=f"the path of a {what}")
    if p.is_dir():
        raise kind(p, found="a folder", expected=f"a {what}")
    try:
        size = p.stat().st_size
        if size > TOML_MAX_BYTES:
            raise kind(p, found=f"{size:,} bytes", expected=f"a {what} under {TOML_MAX_BYTES:,} bytes")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise kind(p, found="no such file", expected=f"an existing {what}") from None
    except OSError as exc:
        raise kind(p, found=f"an unreadable file ({exc.strerror})", expected=f"a readable {what}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise kind(p, found=f"bytes that are not UTF-8 (at byte {exc.start})", expected=f"a UTF-8 {what}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise kind(p, found=f"malformed TOML ({exc})", expected="valid TOML") from None


TRACKED_PACKAGES = ("numpy", "scipy", "pandas", "pymc", "pytensor", "arviz", "lifelines", "matplotlib")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_key(path: str | os.PathLike[str]) -> str:
    """How a manifest names an input: relative to the repository when inside it, else absolute.

    Repository-relative keys keep manifests comparable between clones in different folders.
    """
    p = Path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(p)


def resolve_input_key(key: str) -> Path:
    """The file a manifest key names (inverse of :func:`input_key`)."""
    p = Path(key)
    return p if p.is_absolute() else REPO_ROOT / p


def sha256_paths(paths: Iterable[str | os.PathLike[str]]) -> dict[str, str]:
    """Hashes of several files (folders expanded to their sorted files), keyed by :func:`input_key`."""
    out: dict[str, str] = {}
    for p in paths:
        p = Path(p)
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            out[input_key(f)] = sha256_file(f)
    return out


def sha256_frame(df: pd.DataFrame) -> str:
    """Order-sensitive hash of a table's values (used to tag posteriors with their data)."""
    payload = df.to_csv(index=False, lineterminator="\n").encode()
    return hashlib.sha256(payload).hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the numerical stack."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        out["txbayes"] = metadata.version("txbayes")
    except metadata.PackageNotFoundError:
        out["txbayes"] = "not installed"
    return out


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def atomic_target(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary sibling path to write to; it replaces ``path`` only if the block succeeds.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write bytes to ``path`` via a temporary sibling and an atomic rename."""
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path: str | os.PathLike[str], df: pd.DataFrame, *, float_format: str | None = None) -> Path:
    text = df.to_csv(index=False, lineterminator="\n", float_format=float_format)
    return atomic_write_text(path, text)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def cache_dir(kind: str) -> Path | None:
    """The folder of one kind of cache (``map``, ``design_priors``), or ``None`` when caching is off.

    Caches live in the user's cache folder (``platformdirs.user_cache_dir("txbayes")``, e.g.
    ``~/.cache/txbayes`` on Linux), never inside the checkout; ``TXBAYES_CACHE=PATH`` moves them
    under ``PATH`` and ``TXBAYES_CACHE=off`` disables them. A cache only saves time: its entries are
    keyed by every input and the code that computes them, and are read back bit for bit.
    """
    root = os.environ.get("TXBAYES_CACHE")
    if root is not None and root.strip().lower() == "off":
        return None
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("txbayes")
    return Path(root) / kind


def check_output_folder(target: str | os.PathLike[str], option: str = "output folder") -> Path:
    """Refuse, before any computation, an output folder that cannot be written as one.

    Returns the folder to write (a symlink to a folder is followed). Errors name ``option``: an
    existing file or a symlink to one (it would be replaced by a folder), a dangling symlink, a
    path under a file, or a first existing parent folder that is not writable.
    """
    target = Path(target)
    if not str(target).strip():
        raise ConfigError(option, found="an empty path", expected="a folder path")
    if target.is_symlink():
        if not target.is_dir():
            raise ConfigError(option, found=f"{target} is a symlink to a non-folder", expected="a folder path")
        target = target.resolve()
    if target.exists() and not target.is_dir():
        raise ConfigError(
            option, found=f"{target} is an existing file", expected="a folder path (a new or existing folder)"
        )
    anchor = target.absolute().parent  # the folder is staged beside the target, then renamed
    while not anchor.exists():
        anchor = anchor.parent
    if not anchor.is_dir():
        raise ConfigError(option, found=f"{anchor} is a file", expected="a folder path not under a file")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise ConfigError(option, found=f"{anchor} is not writable", expected="a folder you can write to")
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _remove_leftovers(target: Path) -> None:
    """Remove staging and old folders of ``target`` left by runs that were killed (their process is gone)."""
    for p in target.parent.glob(f".{glob.escape(target.name)}.*"):
        parts = p.name[len(target.name) + 2 :].split(".")
        pid = next((int(x) for x in parts if x.isdigit()), None)
        leftover = p.name.endswith(".staging") or ".old." in p.name
        if leftover and pid is not None and pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def staged_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder; on success it atomically replaces ``target``.

    On any exception the temporary folder is removed and ``target`` (with the outputs of the
    previous run, if any) is left untouched. ``target`` is checked first
    (:func:`check_output_folder`: never an existing file); staging and old folders of killed runs
    (named with their process id) are removed.
    """
    target = check_output_folder(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".staging", dir=target.parent))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old.{os.getpid()}")
        os.replace(target, old)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def manifest(
    *,
    command: str,
    seed: int | None,
    inputs: Iterable[str | os.PathLike[str]],
    outputs: Iterable[str],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A run manifest: command line, seed, versions, input hashes and the files written."""
    doc: dict[str, Any] = {
        "created_utc": utc_now(),
        "command": command,
        "seed": seed,
        "versions": versions(),
        "inputs_sha256": sha256_paths(inputs),
        "outputs": sorted(outputs),
    }
    if extra:
        doc.update(extra)
    return doc
