"""How many threads the small linear-algebra work of a worker may use."""

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
