"""One executor for every grid: independent tasks run here, in local worker processes, or on Dask.

:func:`run_tasks` is used by the trial planner (simulation chunks), the sensitivity grid
(scenarios) and the reconstruction (path configurations). Results always come back in the order
of the tasks, whatever the scheduler, so a grid's tables do not depend on where it ran: every task
must carry its own seed (or need none), never draw from a stream shared with other tasks.

Modes
    ``workers=1`` (and no ``dask``): in this process, one task after the other.
    ``workers=N``: ``N`` local processes (:class:`concurrent.futures.ProcessPoolExecutor`; forked
    where the platform allows, so the workers start without re-importing anything).
    ``dask=ADDRESS``: a Dask scheduler, e.g. ``tcp://10.0.0.5:8786``, or any object
    :class:`distributed.Client` accepts, such as a :class:`distributed.LocalCluster` (a client is
    opened and closed per call), or an open :class:`distributed.Client` (used and left open).

``fn`` must be a top-level function (process pools and Dask workers import it by name). Data every
task needs (tables, prior sets, constraints) goes in ``shared``: it is sent once per worker, not
once per task, and ``fn`` is called as ``fn(shared, task)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from models.errors import ConfigError
from models.progress import Progress, as_progress

#: Most local worker processes (the scripts' --workers bound).
MAX_WORKERS = 256

_NOTHING: Any = object()
#: ``shared`` of the tasks a local worker process runs (set by its initializer).
_WORKER_SHARED: Any = _NOTHING


def run_tasks(
    fn: Callable[..., Any],
    tasks: Sequence[Any],
    *,
    workers: int = 1,
    dask: Any = None,
    shared: Any = _NOTHING,
    progress: bool | Progress | None = None,
    label: str | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """Run ``fn(task)`` (or ``fn(shared, task)``) for every task; results in the order of ``tasks``.

    ``progress`` is told ``advance(label, done, total)`` as tasks finish (default label
    ``"N tasks"``). ``on_result(i, result)`` is called in this process as soon as task ``i`` is
    done (in the order tasks finish; e.g. to write a resume cache); an exception it raises stops
    the run: tasks not yet started are cancelled and the exception propagates. An exception raised
    by a task propagates the same way.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ConfigError("workers", found=workers, expected=f"a whole number from 1 to {MAX_WORKERS}")
    tasks = list(tasks)
    n = len(tasks)
    if n == 0:
        return []
    results: list[Any] = [None] * n
    rep = as_progress(progress)
    text = label or f"{n} tasks"
    done = 0

    def finished(i: int, value: Any) -> None:
        nonlocal done
        results[i] = value
        done += 1
        if on_result is not None:
            on_result(i, value)
        rep.advance(text, done, n)

    if dask is not None:
        _run_dask(fn, tasks, dask, shared, finished)
    elif workers == 1 or n <= 1:
        for i, t in enumerate(tasks):
            finished(i, fn(t) if shared is _NOTHING else fn(shared, t))
    else:
        _run_local(fn, tasks, min(workers, n), shared, finished)
    return results


# ------------------------------------------------------------------------------ local processes
def where_run(workers: int, dask: Any) -> dict[str, Any]:
    """What a manifest records of where a grid ran (the results do not depend on it)."""
    return {"workers": int(workers), "dask": dask if dask is None or isinstance(dask, str) else type(dask).__name__}


def _init_worker(shared: Any) -> None:
    """A local worker: Ctrl-C is the parent's to handle (no traceback per worker); keep ``shared``."""
    import signal

    global _WORKER_SHARED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_SHARED = shared


def _call_shared(fn: Callable[..., Any], task: Any) -> Any:
    return fn(_WORKER_SHARED, task)


def _run_local(
    fn: Callable[..., Any], tasks: list[Any], workers: int, shared: Any, finished: Callable[[int, Any], None]
) -> None:
    import concurrent.futures as cf
    import multiprocessing as mp

    context = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(shared,))
    try:
        if shared is _NOTHING:
            futs = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        else:
            futs = {pool.submit(_call_shared, fn, t): i for i, t in enumerate(tasks)}
        for f in cf.as_completed(futs):
            finished(futs[f], f.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


# ------------------------------------------------------------------------------------------ Dask
def _check_address(address: str) -> None:
    """A malformed scheduler address is a one-line ConfigError before any connection is tried."""
    from distributed.comm.addressing import get_address_host_port, parse_address
    from distributed.comm.registry import get_backend

    try:
        scheme, _loc = parse_address(address)
        get_backend(scheme)
        if scheme in ("tcp", "tls"):
            get_address_host_port(address)
    except ValueError as exc:
        raise ConfigError(
            "dask", found=address, expected=f"a Dask scheduler address such as tcp://10.0.0.5:8786 ({exc})"
        ) from None


def is_client(dask: Any) -> bool:
    """Whether ``dask`` is an open :class:`distributed.Client` (rather than an address or a cluster)."""
    try:
        from distributed import Client
    except ImportError:
        return False
    return isinstance(dask, Client)


def connect(dask: Any) -> Any:
    """A :class:`distributed.Client` of ``dask`` (an address or a cluster); one-line ConfigError if none."""
    found = dask if isinstance(dask, str) else type(dask).__name__
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError(
            "dask", found=found, expected="dask[distributed] installed (pip install 'dask[distributed]')"
        ) from None
    if isinstance(dask, str):
        _check_address(dask)
    try:
        return Client(dask, timeout="10s", set_as_default=False)
    except (OSError, ValueError) as exc:
        raise ConfigError("dask", found=found, expected=f"a reachable Dask scheduler ({exc})") from None


def _run_dask(
    fn: Callable[..., Any], tasks: list[Any], dask: Any, shared: Any, finished: Callable[[int, Any], None]
) -> None:
    from dask.distributed import as_completed

    own = not is_client(dask)
    client = connect(dask) if own else dask
    futures: list[Any] = []
    try:
        if shared is _NOTHING:
            futures = client.map(fn, tasks, pure=False)
        else:
            [data] = client.scatter([shared], broadcast=True, hash=False)
            futures = client.map(fn, [data] * len(tasks), tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures, loop=client.loop):
            finished(index[fut.key], fut.result())
    finally:
        if futures:
            client.cancel(futures)
        if own:
            client.close()
