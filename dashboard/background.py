"""A download that yields the processor to ingest: a large export's rows are produced by a
thread of their own at the lowest CPU priority.

An `events.csv` of a million rows keeps a database backend and a web worker busy for
seconds. Run at the priority of everything else it took half the machine from partners'
events arriving meanwhile (bench/README.md, "Export benchmark"): ingest fell to about half
its rate. The rows are read instead by a thread whose niceness is 19 (Linux sets it per
thread), so on a busy machine it runs only on time that ingest leaves, and the database
follows its pace: a COPY whose client stops reading blocks once the socket's buffers are
full, so the backend uses no more processor than the thread lets through. On an idle
machine the export runs at full speed. The worker's own thread only hands the chunks on.

The thread reads on a connection of its own (Django's are per thread), closed when it
ends. Where no thread is possible, the rows are produced in the caller's thread (see
`background_stream`).
"""

import os
import queue
import sys
import threading
from collections.abc import Callable, Generator, Iterator

from django.db import connection, connections

# The niceness of a thread producing a download: 19, the lowest priority there is.
NICENESS = 19
# Chunks produced ahead of the client (each about 256 KiB: dashboard.exports).
DEPTH = 8
# How often a thread waiting to hand a chunk on checks that the download still runs.
_POLL_SECONDS = 0.1
# How long a download stopped half-way waits for its thread to cancel the query.
_JOIN_SECONDS = 10.0

_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def background_stream(produce: Callable[[], Iterator[bytes]]) -> Generator[bytes]:
    """The chunks of `produce()`, produced by a thread at the lowest CPU priority.

    Inside a transaction of the caller (a test's) the rows are produced in this thread
    instead: another connection would not see what that transaction wrote. An error in the
    thread is raised here; a download stopped half-way (this generator closed) stops the
    thread, which closes `produce()`'s iterator (cancelling its query) and its connection.
    """
    if connection.in_atomic_block:
        yield from produce()
        return
    chunks: queue.Queue[object] = queue.Queue(maxsize=DEPTH)
    stopped = threading.Event()

    def hand_on(item: object) -> bool:
        """Put `item` in the queue unless the download stopped; whether it was put."""
        while not stopped.is_set():
            try:
                chunks.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def run() -> None:
        try:
            _lower_priority()
            source = produce()
            try:
                for chunk in source:
                    if not hand_on(chunk):
                        return
            finally:
                close = getattr(source, "close", None)
                if close is not None:
                    close()
            hand_on(_END)
        except BaseException as error:  # raised again in the caller's thread
            hand_on(_Failed(error))
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=run, name="background-download", daemon=True)
    thread.start()
    try:
        while (item := chunks.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            assert isinstance(item, bytes)
            yield item
    finally:
        stopped.set()
        thread.join(_JOIN_SECONDS)


def _lower_priority() -> None:
    """This thread (not the process) at the lowest CPU priority, on Linux: elsewhere a
    thread id given as a process id would name another process, or none."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
