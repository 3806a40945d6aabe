"""Micro-batching: images from concurrent requests grouped into one ONNX Runtime batch.

Requests put their decoded images on an asyncio queue. One collector task takes a free
inference slot, then the first waiting image, then more until the batch is full
(``max_batch``) or ``batch_timeout_ms`` has passed; images that need different settings
(model, decoder, pattern, preprocessing) are split into groups, each one ``read_batch``
call in a worker thread (ONNX Runtime releases the GIL, so the event loop keeps serving).
While a batch runs, new images queue up, so batches grow with the load.

An image counts as its ``cost`` against ``max_batch`` and ``max_queue``: about how many
ordinary lines' work it is (the app's estimate: 1 for a line read greedily; one per view
with test-time augmentation, 12; more for a very wide line or a wide beam). A batch is full
when one more image would take it past ``max_batch`` (that image starts the next batch; an
image costing more than ``max_batch`` runs alone), so an expensive batch takes about as
long as a full plain one, and an image queued behind it waits no longer than that.

Fair turns: the queue hands out the images of the requests waiting in turn, one image of
each request at a time, so a request of 16 expensive images does not hold back a one-line
request that came after it until all 16 are read; and the groups of a batch run cheapest
first. A request that has timed out has its images not yet in a batch dropped, and a group
being read whose images no request waits for any more is stopped (its runner's
:class:`~lineocr.runtime.CancelToken`: at the next batch of lines, the next node of the
network or the next line a beam decodes), so that its worker thread is soon free.

With batching off, each request's images run as their own batch (the benchmark's
baseline). Closing drains: queued images are still read before the workers stop, all
within one shutdown timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lineocr.runtime import CancelToken, run_isolated
from lineocr.serve.errors import ApiError
from lineocr.serve.metrics import Metrics

log = logging.getLogger("lineocr.serve")

T = TypeVar("T")


async def wait_within(awaitable: Awaitable[T], seconds: float) -> T:
    """``await awaitable``, raising :class:`TimeoutError` after ``seconds``. With
    ``asyncio.timeout`` where there is one (3.11+): the ``asyncio.wait_for`` of 3.10 and 3.11
    swallows a cancellation that arrives as the awaitable completes (CPython gh-86296, fixed
    in 3.12 by rewriting it on ``asyncio.timeout``): the batch collector could then miss the
    shutdown's cancel, and close would wait for it forever."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await _wait_within_310(awaitable, seconds)


async def _wait_within_310(awaitable: Awaitable[T], seconds: float) -> T:
    """:func:`wait_within` without ``asyncio.timeout``: ``asyncio.wait`` returns at the
    deadline without cancelling anything, so a cancellation of the caller always reaches it
    here and is passed on to the awaitable."""
    task = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.wait({task})  # its end; a cancellation of the caller meanwhile goes on up
    if task.cancelled():
        raise TimeoutError
    return task.result()  # a result that came meanwhile is kept: not lost, as a queued job


# A group's runner: (images, cancel token) -> one result per image (a prediction or an
# exception); the token is cancelled when no request waits for the group's results any more.
# An image is what the runner reads: a line's array, or an item wrapping one (a page's
# line read with its characters' places, :class:`lineocr.serve.models.PlacedLine`).
Runner = Callable[[Sequence[Any], CancelToken | None], Sequence[Any]]


@dataclass(frozen=True)
class Outcome:
    """One image's result: ``value`` (a prediction) or ``error``, with its timings."""

    value: Any = None
    error: BaseException | None = None
    queue_ms: float = 0.0
    inference_ms: float = 0.0
    batch_size: int = 0


@dataclass
class Job:
    key: Hashable  # images with equal keys can share a read_batch call
    run: Runner
    image: Any  # what run reads (see Runner)
    model: str
    future: asyncio.Future[Outcome]
    cost: int = 1  # ordinary lines' work (max_batch and max_queue count it)
    request: int = 0  # the submit call it came with: the queue's unit of turns
    enqueued: float = field(default_factory=time.perf_counter)


class _Turns:
    """Jobs by request, handed out one request at a time in turn (``append``/``popleft``,
    ``len``: what :class:`asyncio.Queue` asks of its container)."""

    def __init__(self) -> None:
        self._by_request: dict[int, deque[Job]] = {}  # in turn order
        self._count = 0

    def append(self, job: Job) -> None:
        self._by_request.setdefault(job.request, deque()).append(job)
        self._count += 1

    def popleft(self) -> Job:
        request = next(iter(self._by_request))
        jobs = self._by_request.pop(request)
        job = jobs.popleft()
        if jobs:
            self._by_request[request] = jobs  # its next image waits for the others' turns
        self._count -= 1
        return job

    def __len__(self) -> int:
        return self._count


class _FairQueue(asyncio.Queue[Job]):
    """An asyncio queue of jobs that takes turns between requests (:class:`_Turns`)."""

    def _init(self, maxsize: int) -> None:
        self._queue = _Turns()


@dataclass(frozen=True)
class BatchLimits:
    """How the batcher groups images: ``max_batch`` and ``max_queue`` lines' work at most
    in a batch and waiting, a batch waiting ``timeout_ms`` for more, ``workers`` batches at
    once; ``enabled`` False reads each request's images as their own batch."""

    max_batch: int
    timeout_ms: float
    workers: int
    max_queue: int
    enabled: bool = True


class Batcher:
    def __init__(self, limits: BatchLimits, metrics: Metrics | None = None) -> None:
        self.max_batch = limits.max_batch
        self.timeout_s = limits.timeout_ms / 1000.0
        self.workers = limits.workers
        self.enabled = limits.enabled
        self.metrics = metrics
        self.max_queue = limits.max_queue
        self._queue: asyncio.Queue[Job] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._collector: asyncio.Task[None] | None = None
        self._queued_cost = 0  # the cost of the images in the queue (max_queue's measure)
        self._held: Job | None = None  # taken from the queue, the first of the next batch
        self._running: set[asyncio.Task[None]] = set()
        # Images a request still waits for (queued, gathered or running), and groups being
        # read with batching off: what closing drains.
        self._waiting: set[asyncio.Future[Outcome]] = set()
        self._direct = 0
        self._reading: set[CancelToken] = set()  # the groups being read, batched or not
        self._closing = False
        self._refused = 0  # images answered 503 because of the shutdown, for close's warning
        self.batches_run = 0
        self._requests = itertools.count()

    async def start(self) -> None:
        self._queue = _FairQueue()  # bounded by cost in submit, not by count
        self._slots = asyncio.Semaphore(self.workers)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="lineocr-infer"
        )
        if self.enabled:
            self._collector = asyncio.create_task(self._collect(), name="lineocr-batcher")

    @property
    def queue_depth(self) -> int:
        """Images waiting for a batch."""
        queued = self._queue.qsize() if self._queue is not None else 0
        return queued + (self._held is not None)

    async def submit(
        self,
        key: Hashable,
        run: Runner,
        images: Sequence[Any],
        model: str,
        cost: int | Sequence[int] = 1,
    ) -> list[Outcome]:
        """Read ``images`` (in order); a failing image gets its error, the others their text.
        Each image counts as its ``cost`` (one for all, or one per image: about how many
        ordinary lines' work it is) against ``max_batch`` and ``max_queue``; a request
        finding the queue empty is always taken."""
        if self._queue is None or self._slots is None or self._closing:
            raise ApiError(503, "shutting_down", "the server is shutting down")
        if not self.enabled:
            async with self._slots:
                self._direct += 1
                try:
                    return await self._run_group(run, list(images), time.perf_counter(), model)
                finally:
                    self._direct -= 1
        costs = [cost] * len(images) if isinstance(cost, int) else list(cost)
        if len(costs) != len(images):
            raise ValueError(f"{len(costs)} costs for {len(images)} images")
        costs = [max(1, c) for c in costs]
        if self._queued_cost and self._queued_cost + sum(costs) > self.max_queue:
            raise ApiError(503, "overloaded", "too many images waiting; retry shortly")
        loop = asyncio.get_running_loop()
        request = next(self._requests)
        jobs = [
            Job(key, run, img, model, loop.create_future(), c, request)
            for img, c in zip(images, costs, strict=True)
        ]
        self._queued_cost += sum(costs)
        for job in jobs:
            self._waiting.add(job.future)
            job.future.add_done_callback(self._waiting.discard)
            self._queue.put_nowait(job)
        self._gauge()
        try:
            return list(await asyncio.gather(*(asyncio.shield(j.future) for j in jobs)))
        except asyncio.CancelledError:
            for job in jobs:  # a timed-out request: its images need not be read
                job.future.cancel()
            raise

    async def _collect(self) -> None:
        assert self._queue is not None and self._slots is not None
        while True:
            await self._slots.acquire()
            while True:  # the first image a request still waits for
                if self._held is not None:
                    first, self._held = self._held, None
                else:
                    try:
                        first = await self._queue.get()
                    except asyncio.CancelledError:
                        self._slots.release()
                        raise
                if not first.future.done():
                    break
                self._queued_cost -= first.cost  # its request timed out: nothing to read
            batch = [first]
            cost = first.cost
            deadline = time.perf_counter() + self.timeout_s
            while cost < self.max_batch:
                try:
                    job = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0 or self._closing:
                        break
                    try:
                        job = await wait_within(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                    except asyncio.CancelledError:  # close: the deadline passed while gathering
                        self._slots.release()
                        self._queued_cost -= cost
                        self._refuse(job.future for job in batch)
                        raise
                if job.future.done():  # a timed-out request's: it takes no room
                    self._queued_cost -= job.cost
                    continue
                if cost + job.cost > self.max_batch:
                    self._held = job  # it would overfill this batch: it starts the next one
                    break
                batch.append(job)
                cost += job.cost
            self._queued_cost -= cost
            self._gauge()
            task = asyncio.create_task(self._run_batch(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run_batch(self, batch: list[Job]) -> None:
        assert self._slots is not None
        try:
            live = [job for job in batch if not job.future.done()]
            groups: dict[Hashable, list[Job]] = {}
            for job in live:
                groups.setdefault(job.key, []).append(job)
            # cheapest first: a one-line request waits less behind an expensive group
            for jobs in sorted(groups.values(), key=lambda g: sum(j.cost for j in g)):
                start = time.perf_counter()
                outcomes = await self._run_group(
                    jobs[0].run,
                    [j.image for j in jobs],
                    start,
                    jobs[0].model,
                    [j.future for j in jobs],
                )
                for job, outcome in zip(jobs, outcomes, strict=True):
                    if not job.future.done():
                        queued = (start - job.enqueued) * 1000.0
                        job.future.set_result(
                            Outcome(
                                outcome.value,
                                outcome.error,
                                queued,
                                outcome.inference_ms,
                                outcome.batch_size,
                            )
                        )
        except BaseException as exc:  # never leave a request waiting forever
            _fail(batch, exc)
            if not isinstance(exc, asyncio.CancelledError):
                log.exception("batch failed")
        finally:
            self._slots.release()

    async def _run_group(
        self,
        run: Runner,
        images: list[Any],
        start: float,
        model: str,
        futures: Sequence[asyncio.Future[Outcome]] = (),
    ) -> list[Outcome]:
        """Read a group in a worker thread; it is cancelled when every one of ``futures``
        (its images' requests) is done before it, or when this coroutine is cancelled (a
        request timing out with batching off, the shutdown)."""
        loop = asyncio.get_running_loop()
        token = CancelToken()

        def given_up(_: object = None) -> None:
            if all(future.done() for future in futures):
                token.cancel()

        for future in futures:
            future.add_done_callback(given_up)
        self._reading.add(token)
        t0 = time.perf_counter()
        try:
            results = await loop.run_in_executor(
                self._executor, run_isolated, lambda batch: run(batch, token), images
            )
        except asyncio.CancelledError:
            token.cancel()
            raise
        finally:
            self._reading.discard(token)
            for future in futures:
                future.remove_done_callback(given_up)
        seconds = time.perf_counter() - t0
        self.batches_run += 1
        if self.metrics is not None and not token.cancelled:  # a stopped read is no batch time
            self.metrics.record_batch(len(images), seconds)
        queued = (t0 - start) * 1000.0
        return [
            Outcome(None, r, queued, seconds * 1000.0, len(images))
            if isinstance(r, BaseException)
            else Outcome(r, None, queued, seconds * 1000.0, len(images))
            for r in results
        ]

    def _refuse(self, futures: Iterable[asyncio.Future[Outcome]]) -> None:
        """Answer 503 ``shutting_down`` to the images not answered yet, and count them: the
        collector answers the batch it was gathering, close the rest."""
        error = ApiError(503, "shutting_down", "the server is shutting down")
        for future in futures:
            if not future.done():
                future.set_exception(error)
                self._refused += 1

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.queue_depth.set(self.queue_depth)

    async def close(self, timeout: float = 30.0) -> None:
        """Stop taking images, read the ones requests still wait for, then stop the workers;
        all of it within ``timeout`` seconds (one deadline). Images not read by then get 503
        ``shutting_down``, all counted in one warning. A batch no request waits for any more
        (its requests timed out or were cancelled by the server's own shutdown wait) is not
        waited for: it is cancelled (:class:`~lineocr.runtime.CancelToken`) and its worker
        thread left to stop at its next check."""
        self._closing = True
        deadline = time.perf_counter() + max(0.0, timeout)
        while (self._waiting or self._direct) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        if self._collector is not None:
            self._collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._collector
        # The images still queued or in a batch not finished, answered before the batches
        # are cancelled: a request gets its 503, not a cancellation. The collector, cancelled
        # while gathering a batch, has answered that batch's images already.
        self._refuse(list(self._waiting))
        if self._refused:
            log.warning(
                "shutdown timeout (%g s): %d image(s) not read, answered 503",
                timeout,
                self._refused,
            )
        for token in list(self._reading):  # with batching off too: no task of ours to cancel
            token.cancel()
        running = list(self._running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)  # at once: each was waiting on its thread's result
        if self._executor is not None:
            # Joining the threads only when none is still reading: that wait is unbounded.
            self._executor.shutdown(wait=not running and not self._direct)


def _fail(jobs: list[Job], exc: BaseException) -> None:
    for job in jobs:
        if not job.future.done():
            job.future.set_exception(exc)
