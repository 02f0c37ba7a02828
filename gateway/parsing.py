"""Where a webhook's verify + parse run: on the event loop, in a worker thread, or a worker process.

Small bodies are parsed on the loop. A channel module may move larger ones off it:
``OFF_LOOP_BYTES`` to a worker thread (the loop keeps serving, but a long pure-Python parse
still takes the GIL in turns with it), ``OFF_PROCESS_BYTES`` to the worker process (big mail:
the loop keeps the GIL, and the gateway's memory does not grow with the parse). There is one
worker process, so big parses queue behind each other instead of taking every core; it is
replaced after PROCESS_TASKS parses, and when it dies the request is answered 503 (the provider
retries) and the next one starts a new process.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import math
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from gateway import keys
from gateway.channels import CHANNELS
from gateway.channels.base import ParseResult, WebhookError, WebhookRequest, check_ids

WORKER_NICE = 10  # the worker's CPU priority below the gateway's
PROCESS_TASKS = 200  # parses per worker process before a fresh one replaces it
TRIM_BYTES = 1024 * 1024  # after parsing a body this large, hand freed heap back to the OS


class ParserUnavailable(WebhookError):
    """The worker process died (killed, out of memory): a transient failure."""

    status = 503


def verify_and_parse(kind: str, secrets: Mapping[str, str], request: WebhookRequest) -> ParseResult:
    """The channel module's verify() then parse(), and the id checks every result passes."""
    module = CHANNELS[kind]
    module.verify(secrets, request)
    result = module.parse(kind, request)
    check_ids(result.messages)
    return result


async def verified(
    app: web.Application, kind: str, secrets: Mapping[str, str], request: WebhookRequest
) -> ParseResult:
    """verify_and_parse() where the channel wants it run for a body of this size."""
    size, module = len(request.body), CHANNELS[kind]
    if size >= getattr(module, "OFF_PROCESS_BYTES", math.inf):
        parsed = app[keys.PARSERS].run(kind, secrets, request)
    elif size >= getattr(module, "OFF_LOOP_BYTES", math.inf):
        parsed = asyncio.to_thread(verify_and_parse, kind, secrets, request)
    else:
        return verify_and_parse(kind, secrets, request)
    try:
        return await parsed
    finally:
        if size >= TRIM_BYTES:  # the body and its copies were freed: give the heap back
            await asyncio.to_thread(trim)


class ParsePool:
    """The worker process, started on first use."""

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None
        # Run in each new worker process first (the tests freeze its clock with it).
        self.initializer: Callable[..., None] | None = None
        self.initargs: tuple[Any, ...] = ()
        self.runs = 0  # requests sent to a worker process so far

    async def run(
        self, kind: str, secrets: Mapping[str, str], request: WebhookRequest
    ) -> ParseResult:
        """verify_and_parse() in the worker process; what verify() noted comes back in memo."""
        outcome, memo = await self._outcome(kind, secrets, request)
        request.memo.update(memo)
        if isinstance(outcome, WebhookError):
            try:
                raise outcome
            finally:  # no cycle frame -> refusal -> traceback -> frame (it would keep the body)
                del outcome
        return outcome

    async def _outcome(
        self, kind: str, secrets: Mapping[str, str], request: WebhookRequest
    ) -> tuple[ParseResult | WebhookError, dict[str, Any]]:
        portable = WebhookRequest(
            request.method,
            request.url,
            CIMultiDict(request.headers),
            dict(request.query),
            request.body,
        )
        self.runs += 1
        try:
            # Submitted from a thread: starting a worker process waits for the fork server.
            future = await asyncio.to_thread(
                self._pool().submit, _in_process, kind, dict(secrets), portable
            )
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self.close()
            raise ParserUnavailable("the parser process stopped; send it again") from None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])  # new workers start with it imported
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                max_tasks_per_child=PROCESS_TASKS,
                initializer=_start_worker,
                initargs=(self.initializer, *self.initargs),
            )
        return self._executor

    def close(self) -> None:
        """Stop the worker process (a parse in flight is abandoned)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


async def parsers_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the worker process ends with the app."""
    yield
    app[keys.PARSERS].close()


def _start_worker(initializer: Callable[..., None] | None, *initargs: Any) -> None:
    """The worker yields the CPU to the gateway and its database when they want it."""
    os.nice(WORKER_NICE)
    if initializer is not None:
        initializer(*initargs)


def _in_process(
    kind: str, secrets: Mapping[str, str], request: WebhookRequest
) -> tuple[ParseResult | WebhookError, dict[str, Any]]:
    try:
        outcome: ParseResult | WebhookError = verify_and_parse(kind, secrets, request)
    except WebhookError as exc:  # a refusal: its memo (a spent token) still counts
        outcome = exc.with_traceback(None)
    memo = {k: v for k, v in request.memo.items() if k != "form"}  # the parsed form stays here
    trim()
    return outcome, memo


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim with
        return None


def trim() -> None:
    """Give the heap that a large parse freed back to the operating system (glibc)."""
    if (release := _malloc_trim()) is not None:
        release(0)
