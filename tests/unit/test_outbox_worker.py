"""The outbox's worker thread: jobs in order, results on the loop, and a close that drops nothing."""

from __future__ import annotations

import asyncio
import queue
import threading
from types import TracebackType

import pytest

from edge_agent.runtime.outbox_worker import Job, OutboxWorker

SAFETY_S = 10.0  # only a broken worker gets near this


class _WatchedLock:
    """A lock that tells when a second thread has to wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.contended = threading.Event()

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            self.contended.set()
            self._lock.acquire()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._lock.release()


class _CloseWhileQueueing(queue.SimpleQueue[Job | None]):
    """Starts `shutdown` in another thread while the first job is being queued, and queues the job
    only once that close has either finished or is held up waiting for the worker's lock."""

    def __init__(self, worker: OutboxWorker, lock: _WatchedLock) -> None:
        self._stopper = threading.Thread(target=self._stop, args=(worker,))
        self._lock = lock
        self._settled = threading.Event()

    def _stop(self, worker: OutboxWorker) -> None:
        worker.shutdown()
        self._settled.set()

    def put(self, item: Job | None, block: bool = True, timeout: float | None = None) -> None:
        if item is not None and not self._stopper.is_alive() and not self._settled.is_set():
            self._stopper.start()
            threading.Thread(target=lambda: self._lock.contended.wait() and self._settled.set()).start()
            assert self._settled.wait(SAFETY_S)
        super().put(item, block, timeout)

    def join_stopper(self) -> None:
        self._stopper.join(SAFETY_S)
        self._lock.contended.set()  # ends the watcher thread when the lock was never contended


def test_a_job_queued_while_the_worker_closes_runs_or_is_refused() -> None:
    worker = OutboxWorker("test-outbox")
    lock = _WatchedLock()
    racing = _CloseWhileQueueing(worker, lock)
    worker._lock = lock  # type: ignore[assignment]  # watched, to queue the job while a close waits
    worker._jobs = racing
    worker.start()
    ran = threading.Event()
    try:
        worker.submit(ran.set)
    except RuntimeError:
        refused = True
    else:
        refused = False
    racing.join_stopper()
    assert refused or ran.is_set(), "submit returned, but its job was queued behind the stop marker"


def test_submit_after_shutdown_is_refused() -> None:
    worker = OutboxWorker("test-outbox")
    worker.start()
    worker.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        worker.submit(lambda: None)


async def test_run_hands_back_results_and_errors_in_order() -> None:
    worker = OutboxWorker("test-outbox")
    worker.start()
    order: list[int] = []
    try:
        first = worker.run(asyncio.get_running_loop(), lambda: order.append(1) or 1)
        failing = worker.run(asyncio.get_running_loop(), lambda: 1 // 0)
        assert await first == 1
        with pytest.raises(ZeroDivisionError):
            await failing
    finally:
        worker.shutdown()
    assert order == [1]
