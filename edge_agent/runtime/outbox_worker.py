"""The outbox's worker: one thread taking jobs in order from a `queue.SimpleQueue`.

Not a `ThreadPoolExecutor`: the outbox hands a job over about once per poll, and the executor's
`submit` builds a `concurrent.futures.Future` and a work item, takes two locks and checks its
thread count each time, and `run_in_executor` chains that future to an asyncio one. Here a job is
a plain callable; `run` resolves an asyncio future with one `call_soon_threadsafe`. Jobs run one at
a time, in the order given (the SQLite connection is the worker's alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
V = TypeVar("V")
Job = Callable[[], None]

log = logging.getLogger(__name__)


class OutboxWorker:
    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        # A daemon: an outbox never closed (a bug) must not hang the interpreter's exit, and ending
        # there is a crash as SQLite sees it (committed rows stay); a closed one ends it in order.
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        # Closing and queueing are one step each under this lock: a job is never queued behind the
        # stop marker (it would be dropped, and its caller never told).
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Run `job` on the worker after the jobs given before it; RuntimeError once shut down."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the outbox worker is shut down")
            self._jobs.put(job)

    def run(self, loop: asyncio.AbstractEventLoop, function: Callable[[], T]) -> asyncio.Future[T]:
        """`function()` on the worker; its result (or exception) in a future of `loop`."""
        future: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                result = function()
            except BaseException as exc:  # handed to the awaiting caller, raised there
                _hand_back(loop, _set_exception, future, exc)
            else:
                _hand_back(loop, _set_result, future, result)

        self.submit(job)
        return future

    def shutdown(self) -> None:
        """Let the jobs given so far run, then end the thread and wait for it."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._jobs.put(None)
        if self._thread.is_alive():
            self._thread.join()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:  # a job hands its errors back itself: this is a bug, not a reason to stop
                log.exception("outbox worker: a job failed")


def _hand_back(
    loop: asyncio.AbstractEventLoop,
    setter: Callable[[asyncio.Future[T], V], None],
    future: asyncio.Future[T],
    value: V,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(setter, future, value)


def _set_result(future: asyncio.Future[T], result: T) -> None:
    if not future.done():  # cancelled meanwhile
        future.set_result(result)


def _set_exception(future: asyncio.Future[T], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
