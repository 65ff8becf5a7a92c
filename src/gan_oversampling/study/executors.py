"""Where a study's work runs: in this process, or spread over worker processes.

A job is one group of the runner (tests whose CGANs train as one batch). `work(job,
progress)` computes the job's units one after another. Only the calling process receives
the units (`on_unit`), so only it writes to the results store: a worker that dies or is
killed loses its unfinished units and nothing else.

On CPU the default is one single-threaded worker per core. A CGAN's matrix products have
32 rows and parallelise poorly: on an idle 2-core machine, 2 processes with 1 thread
trained 10-20% more CGANs per second than 1 process with 2 threads. When another job
holds a core, a multi-threaded product waits for its descheduled thread at every step,
and 1 process with 2 threads ran more than ten times slower than 2 with 1.
`benchmarks/bench_gan.py` measures the layouts on the machine at hand.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from gan_oversampling.errors import UserError
from gan_oversampling.threads import cap_blas_threads

Progress = Callable[[float, str], None]  # (work units advanced, description)
Work = Callable[[Any, Progress], Iterable[Any]]  # (job, progress) -> units, one by one

_POLL_SECONDS = 0.1
_PARENT_CHECK_SECONDS = 0.5
# What one worker may need: a group of 20 CGANs at 784 features peaks near 1.3 GB.
_MEMORY_PER_WORKER = 1.5 * 2**30
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc mallopt parameters


class Executor(Protocol):
    n_workers: int

    def run(
        self, work: Work, jobs: Sequence, on_unit: Callable[[Any], None], progress: Progress
    ) -> None: ...


class InlineExecutor:
    """Runs the jobs one after another in this process, with `threads` torch threads
    (None: leave torch's setting alone)."""

    n_workers = 1

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def run(
        self, work: Work, jobs: Sequence, on_unit: Callable[[Any], None], progress: Progress
    ) -> None:
        import torch

        _check_count(self.threads, "threads", allow_none=True)
        reuse_freed_memory()
        previous = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            for job in jobs:
                for unit in work(job, progress):
                    on_unit(unit)
        finally:
            torch.set_num_threads(previous)

    def __repr__(self) -> str:
        return f"InlineExecutor(threads={self.threads})"


class ProcessExecutor:
    """Runs the jobs on `workers` spawned processes with `threads` torch threads each.

    Units come back to this process as each one is finished. Ctrl-C or an error stops the
    workers at once; workers also stop by themselves when this process disappears.
    """

    def __init__(self, workers: int = 2, threads: int = 1):
        self.workers = workers
        self.threads = threads

    @property
    def n_workers(self) -> int:
        return self.workers

    def run(
        self, work: Work, jobs: Sequence, on_unit: Callable[[Any], None], progress: Progress
    ) -> None:
        _check_count(self.workers, "workers")
        _check_count(self.threads, "threads")
        if not jobs:
            return
        context = multiprocessing.get_context("spawn")
        messages = context.Queue()
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(jobs)),
            mp_context=context,
            initializer=_start_worker,
            initargs=(work, messages, self.threads, os.getpid()),
        )
        try:
            futures = {pool.submit(_run_job, index, job): index for index, job in enumerate(jobs)}
            _collect(futures, messages, on_unit, progress)
        except BrokenProcessPool:
            _stop_workers(pool)
            raise UserError(
                "a worker process died (out of memory?); finished units are saved: run again "
                "to resume, with fewer --workers or a smaller --max-gans if it happens again"
            ) from None
        except BaseException:
            _stop_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            messages.close()
            messages.cancel_join_thread()

    def __repr__(self) -> str:
        return f"ProcessExecutor(workers={self.workers}, threads={self.threads})"


def choose_executor(
    n_cpus: int | None = None,
    device: Any = "cpu",
    *,
    workers: int | None = None,
    threads: int | None = None,
) -> InlineExecutor | ProcessExecutor:
    """The executor for this machine: inline on CUDA; on CPU one single-threaded worker
    per core, unless `workers` and/or `threads` say otherwise. Without `workers`, no more
    workers than memory holds; the cores left over then go to their threads."""
    import torch

    _check_count(workers, "workers", allow_none=True)
    _check_count(threads, "threads", allow_none=True)
    n_cpus = available_cpus() if n_cpus is None else n_cpus
    _check_count(n_cpus, "n_cpus")
    if torch.device(device).type == "cuda":  # resolved by the caller ("auto" is not a device)
        if workers is not None and workers > 1:
            raise UserError(
                f"workers={workers} with a CUDA device: CGANs on a GPU train in one process; "
                "use workers=1 or device 'cpu'"
            )
        return InlineExecutor(threads)
    if workers is None:
        workers = max(1, min(n_cpus // (threads or 1), _workers_that_fit_in_memory()))
    if threads is None:
        threads = max(1, n_cpus // workers)
    if workers == 1:
        return InlineExecutor(threads)
    return ProcessExecutor(workers, threads)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def reuse_freed_memory() -> bool:
    """Have glibc keep freed memory for reuse rather than hand it back to the system.

    Each training step frees and reallocates the same large gradient buffers. glibc maps
    every block over 32 MB afresh, and the page faults of first touching it made the
    largest weight-gradient products about three times slower (20 CGANs at 784
    features: 23 ms per GAN-iteration before, 19 after). The memory in use stays the same.
    Returns False where the C library offers no such setting.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30))


def _workers_that_fit_in_memory() -> int:
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return 1 << 16
    return max(1, int(memory // _MEMORY_PER_WORKER))


def _check_count(value, name: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{name} must be an integer >= 1, got {value!r}")


# -------------------------------------------------------------------- parent side


def _collect(futures: dict[Future, int], messages, on_unit, progress: Progress) -> None:
    """Hand each unit to `on_unit` as it arrives, until every job's units have arrived.

    A job's future gives its unit count; its units travel on the message queue, which may
    deliver them after the future completes.
    """
    pending = dict(futures)
    expected: dict[int, int] = {}
    received: Counter[int] = Counter()
    while pending or any(received[job] < count for job, count in expected.items()):
        try:
            message = messages.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            message = None
        if message is not None:
            kind, job, *payload = message
            if kind == "unit":
                on_unit(payload[0])
                received[job] += 1
            else:
                progress(*payload)
        for future in [f for f in pending if f.done()]:
            expected[pending.pop(future)] = future.result()  # re-raises a worker's error


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's processes now; they write nothing, so nothing is left half-done."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    # Before 3.14 the pool offers no public way to stop a running task.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


# -------------------------------------------------------------------- worker side

_worker: dict[str, Any] = {}


def _start_worker(work: Work, messages, threads: int, parent_pid: int) -> None:
    import torch

    # Ctrl-C reaches the whole process group; the parent decides and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reuse_freed_memory()
    torch.set_num_threads(threads)
    cap_blas_threads(threads)
    _worker.update(work=work, messages=messages)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    # A worker blocked on the pool's queues never learns that a killed parent is gone.
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


def _run_job(job_index: int, job) -> int:
    messages = _worker["messages"]

    def progress(work: float, description: str) -> None:
        messages.put(("progress", job_index, work, description))

    n_units = 0
    for unit in _worker["work"](job, progress):
        messages.put(("unit", job_index, unit))
        n_units += 1
    return n_units
