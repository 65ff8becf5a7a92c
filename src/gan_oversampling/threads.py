"""How many threads the linear-algebra work of a worker may use: numpy's and scipy's BLAS
and OpenMP pools, which torch's thread setting does not reach."""

from __future__ import annotations

from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def one_blas_thread():
    """A context in which numpy's and scipy's BLAS and OpenMP use one thread: a study runs
    one worker per core, and the oracles' and quality measures' products are small, so
    their values are the same on every machine and their fits do not fight for cores."""
    return _controller().limit(limits=1)


_worker_limits: list = []  # the limit of this process, kept alive while it holds


def cap_blas_threads(threads: int) -> None:
    """Cap numpy's and scipy's BLAS and OpenMP pools at `threads` for the rest of this
    process. A worker process calls it with its share of the cores: unbounded, each of
    two workers' BLAS starts a thread per core, and the classifiers' fits (logistic
    regression, SVMs) ran about three times slower when the workers met on the cores."""
    _worker_limits.clear()
    _worker_limits.append(_controller().limit(limits=threads))
