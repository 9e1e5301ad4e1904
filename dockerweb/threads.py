"""Bridges from blocking docker-py streams (read in their own threads) to asyncio.

Each stream gets a dedicated thread, never the shared `sync_to_async` pool: a followed log
or events stream blocks for as long as it is open and would starve everything else.
"""

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterable
from typing import Any

_DONE = object()


def start_thread(target: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
    """Start a daemon thread that runs in a copy of the caller's context, so it works with
    the caller's engine (dockerweb.engines.current(), the gateway's connection)."""
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(target, *args), name=name, daemon=True)
    thread.start()
    return thread


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _post(loop: asyncio.AbstractEventLoop, callback: Callable, *args: Any) -> bool:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop has closed: nobody is listening any more
        return False
    return True


class ThreadedIterator:
    """Iterate a blocking iterable in its own thread; `await next_item()` in the loop.

    `close` is called (from the loop) to unblock the thread: it must make the iterable stop.
    """

    def __init__(self, iterable: Iterable, close: Callable[[], None], *, name: str):
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._close = close
        self.thread = start_thread(self._pump, iterable, name=name)

    def _pump(self, iterable: Iterable) -> None:
        try:
            for item in iterable:
                if not _post(self._loop, self._queue.put_nowait, item):
                    break
        except Exception as exc:
            _post(self._loop, self._queue.put_nowait, _Failure(exc))
        finally:
            _post(self._loop, self._queue.put_nowait, _DONE)

    def __aiter__(self):
        return self

    async def __anext__(self):
        item = await self._queue.get()
        if item is _DONE:
            raise StopAsyncIteration
        if isinstance(item, _Failure):
            raise item.exc
        return item

    def close(self) -> None:
        self._close()


class ByteRelay:
    """Bytes read in a thread, handed to the loop in as few, as large, pieces as possible.

    The reader appends; the loop takes everything gathered since its last take. The buffer is
    bounded: past `limit` bytes the reader waits, so a slow client holds back the engine
    stream instead of growing memory.
    """

    def __init__(self, limit: int = 4 * 1024 * 1024):
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self._room = threading.Condition(threading.Lock())  # not re-entrant: cheaper per put
        self._buffer = bytearray()
        self._limit = limit
        self.finished = False
        self.closed = False

    # -- reader thread side
    def put(self, data: bytes) -> bool:
        """Append; False once the relay was closed (the reader should stop)."""
        with self._room:
            while len(self._buffer) >= self._limit and not self.closed:
                self._room.wait(timeout=1.0)
            if self.closed:
                return False
            was_empty = not self._buffer
            self._buffer += data
        if was_empty:
            _post(self._loop, self._ready.set)
        return True

    def finish(self) -> None:
        self.finished = True
        _post(self._loop, self._ready.set)

    # -- loop side
    async def take(self) -> bytes:
        """Everything gathered so far (waits for something); b"" once finished and drained."""
        while True:
            with self._room:
                if self._buffer:
                    data = bytes(self._buffer)
                    self._buffer.clear()
                    self._room.notify_all()
                    return data
                if self.finished:
                    return b""
                self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        with self._room:
            self.closed = True
            self._room.notify_all()


def pump_bytes(pieces: Iterable[bytes], relay: ByteRelay, *, name: str) -> threading.Thread:
    """Start a thread copying `pieces` into `relay` until either ends."""

    def run() -> None:
        try:
            for piece in pieces:
                if not relay.put(piece):
                    break
        finally:
            relay.finish()

    return start_thread(run, name=name)


async def open_in_thread(opener: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`await asyncio.to_thread(opener, …)` for things with a `close()` (streams).

    If the caller is cancelled while the opener still runs (a socket closed during
    connect), whatever it opens afterwards is closed rather than leaked.
    """
    # In the caller's context, as asyncio.to_thread does (run_in_executor alone does not):
    # the stream must be opened on the caller's engine, not the default one.
    context = contextvars.copy_context()
    future = asyncio.get_running_loop().run_in_executor(
        None, lambda: context.run(opener, *args, **kwargs)
    )
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:

        def close_late(done: asyncio.Future) -> None:
            if not done.cancelled() and done.exception() is None:
                done.result().close()

        future.add_done_callback(close_late)
        raise
