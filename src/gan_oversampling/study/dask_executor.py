"""Run a study's jobs on a Dask cluster: one task per job, results written by the driver.

A task computes one job (a group of tests whose CGANs train as one batch, with their
classifier fits) and returns all its units; the driver writes them when the task's result
arrives. A worker lost mid-task thus loses nothing that was written: the scheduler runs
the task again on another worker (up to `distributed.scheduler.allowed-failures` times,
default 3) and its units are written once, from the run that finished.

Device: tasks resolve the study's device on the worker, so "auto" means the worker's
GPU where it has one. When the cluster has workers started with `--resources GPU=1`
(and the study's device is not "cpu"), every task asks for one GPU, so they run only
on those workers: a study's CGANs then all train on GPUs, and results never depend on
which kind of worker ran a task.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import signal
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gan_oversampling.errors import UserError
from gan_oversampling.study.executors import (
    Progress,
    Work,
    _check_count,
    _workers_that_fit_in_memory,
    available_cpus,
    reuse_freed_memory,
)
from gan_oversampling.threads import cap_blas_threads

MISSING_DASK = "the dask executor needs dask[distributed]: pip install 'gan-oversampling[dask]'"
GPU = "GPU"  # the dask resource that marks a worker with a GPU (`dask worker --resources GPU=1`)

_POLL_SECONDS = 0.1
_LIVE_PROGRESS_SECONDS = 0.5  # how often a task reports its progress while it runs
_CONNECT_TIMEOUT = "30s"


def import_distributed():
    """The `distributed` package, or one clear line saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise UserError(MISSING_DASK) from None
    return distributed


class DaskExecutor:
    """Runs each job as one task on a Dask cluster: the scheduler at `address`, or a
    `LocalCluster` of `n_workers` single-threaded worker processes started for the run
    (default: one per core, no more than memory holds). Each task trains with `threads`
    torch threads.

    `device` is the study's device name: unless it is "cpu", tasks go only to the
    cluster's GPU workers when it has any.
    """

    def __init__(
        self,
        address: str | None = None,
        n_workers: int | None = None,
        threads: int = 1,
        device: str = "auto",
    ):
        self.address = address
        self.workers = n_workers
        self.threads = threads
        self.device = device

    @property
    def n_workers(self) -> int:
        """Tasks that run at once: the runner cuts a feature count's tests into a multiple
        of this many groups."""
        if self.address is None:
            return self._local_workers()
        with self._connect() as client:
            return max(1, len(_task_slots(client, self._wants_gpu(client))))

    def run(
        self, work: Work, jobs: Sequence, on_unit: Callable[[Any], None], progress: Progress
    ) -> None:
        _check_count(self.threads, "threads")
        if self.workers is not None:
            _check_count(self.workers, "workers")
        if not jobs:
            return
        distributed = import_distributed()
        with self._connect() as client:
            resources = {GPU: 1} if self._wants_gpu(client) else None
            if not _task_slots(client, resources is not None):
                raise UserError(f"the Dask cluster at {self.address} has no worker")
            # A unique topic: several runs may share one scheduler.
            topic = f"gan-oversampling-progress-{uuid.uuid4().hex}"
            live: queue.Queue = queue.Queue()
            client.subscribe_topic(topic, live.put)
            futures = {
                client.submit(
                    _run_task, work, job, index, self.threads, topic,
                    key=f"gan-oversampling-group-{index}-{uuid.uuid4().hex}",
                    pure=False, resources=resources,
                ): index
                for index, job in enumerate(jobs)
            }
            try:
                _collect(futures, live, on_unit, progress, distributed)
            except BaseException:
                client.cancel(list(futures), force=True)
                raise
            finally:
                client.unsubscribe_topic(topic)

    def __repr__(self) -> str:
        return (
            f"DaskExecutor(address={self.address!r}, n_workers={self.workers}, "
            f"threads={self.threads}, device={self.device!r})"
        )

    # ------------------------------------------------------------------ the cluster

    def _local_workers(self) -> int:
        if self.workers is not None:
            return self.workers
        return max(1, min(available_cpus() // max(1, self.threads),
                          _workers_that_fit_in_memory()))

    @contextlib.contextmanager
    def _connect(self) -> Iterator:
        """A client of the scheduler at `address`, or of a LocalCluster started (and
        closed) here."""
        distributed = import_distributed()
        if self.address is not None:
            try:
                client = distributed.Client(self.address, timeout=_CONNECT_TIMEOUT)
            except OSError as exc:
                raise UserError(
                    f"cannot reach the Dask scheduler at {self.address}: {exc}"
                ) from None
            with client:
                yield client
            return
        import dask

        # No dashboard, so no use for the workers' profiler, which would wake every 10 ms
        # to sample the training thread. The scheduler's HTTP server still takes port
        # 8787, or a free one when another cluster holds it: not worth a warning.
        with (
            dask.config.set({"distributed.worker.profile.enabled": False}),
            warnings.catch_warnings(),
        ):
            warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
            cluster = distributed.LocalCluster(
                n_workers=self._local_workers(), threads_per_worker=1, processes=True,
                dashboard_address=None,
            )
        logger = logging.getLogger("distributed")
        level = logger.level
        try:
            with cluster, distributed.Client(cluster) as client:
                client.run(_prepare_local_worker)
                try:
                    yield client
                except BaseException:
                    # Stopped mid-task (Ctrl-C, an error): the nannies then report the
                    # cancelled tasks and the workers they stop; the user knows already.
                    logger.setLevel(logging.ERROR)
                    raise
        finally:
            logger.setLevel(level)

    def _wants_gpu(self, client) -> bool:
        return self.device != "cpu" and bool(_task_slots(client, gpu=True))


def _task_slots(client, gpu: bool) -> list[str]:
    """One entry per task the cluster runs at once (a worker thread; with `gpu`, one per
    GPU of the workers that declare the resource)."""
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]  # all, not the first 5
    except TypeError:  # distributed before 2025 lists every worker and has no such argument
        workers = client.scheduler_info()["workers"]
    slots = []
    for address, info in workers.items():
        count = int(info.get("resources", {}).get(GPU, 0)) if gpu else info["nthreads"]
        slots += [address] * count
    return slots


# -------------------------------------------------------------------- driver side


def _collect(futures: dict, live: queue.Queue, on_unit, progress: Progress, distributed) -> None:
    """Write each job's units as its task finishes; pass on its progress as it goes.

    A task's live progress is cumulative, so reports of a lost run and of its rerun are
    never added up: a job advances by what goes beyond the most it has reported.
    """
    pending = dict(futures)
    reported: dict[int, float] = {}

    def advance(job: int, total: float, description: str) -> None:
        if total > reported.get(job, 0.0):
            progress(total - reported.get(job, 0.0), description)
            reported[job] = total

    while pending:
        try:
            _timestamp, (job, total, description) = live.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            pass
        else:
            if any(index == job for index in pending.values()):
                advance(job, total, description)
        for future in [f for f in pending if f.done()]:
            job = pending.pop(future)
            try:
                units, total, description = future.result()  # re-raises the task's error
            except distributed.KilledWorker:
                raise UserError(
                    "a task lost its worker several times (out of memory?); finished units "
                    "are saved: run again to resume, with a smaller --max-gans if it repeats"
                ) from None
            # Released at once: a worker lost from now on cannot make it run again.
            future.release()
            for unit in units:
                on_unit(unit)
            advance(job, total, description)


# -------------------------------------------------------------------- worker side


def _prepare_local_worker() -> None:
    """Set up a worker process of a LocalCluster started for the run."""
    # Ctrl-C reaches the workers too; the driver decides and cancels their tasks.
    with contextlib.suppress(ValueError):  # only the main thread may set a handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Their warnings (a cancelled task, memory use) say nothing to a study's user; errors do.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    # With torch and scikit-learn loaded, a worker process hung in the C library's exit
    # handlers until its nanny killed it 4 s later, at every run's end. It holds nothing
    # by then: end it at once.
    atexit.register(_exit_now)


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _run_task(work: Work, job, index: int, threads: int, topic: str):
    """One job on a worker: (its units, the work they advanced, the last description)."""
    import torch
    from distributed import get_worker

    reuse_freed_memory()
    torch.set_num_threads(threads)
    cap_blas_threads(threads)
    worker = get_worker()
    total, description, last_sent = 0.0, "", time.monotonic()

    def progress(work_done: float, text: str) -> None:
        nonlocal total, description, last_sent
        total += work_done
        description = text
        if time.monotonic() - last_sent >= _LIVE_PROGRESS_SECONDS:
            last_sent = time.monotonic()
            worker.log_event(topic, (index, total, description))

    units = list(work(job, progress))
    return units, total, description
