"""Downloads produced by a thread at the lowest CPU priority (dashboard/background.py): the
same chunks, errors raised to the caller, a stopped download stopping its thread."""

import os
import sys
import threading
from collections.abc import Iterator

import pytest
from django.db import connection

from dashboard import background
from dashboard.background import background_stream
from helplines.models import Helpline


def _threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "background-download"]


@pytest.mark.django_db(transaction=True)
def test_chunks_come_from_a_thread_at_the_lowest_priority_with_its_own_connection() -> None:
    Helpline.objects.create(public_id="line-1", name="One", country_code="GB")
    seen: dict[str, object] = {}

    def produce() -> Iterator[bytes]:
        seen["thread"] = threading.get_ident()
        seen["niceness"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        for helpline in Helpline.objects.order_by("public_id"):  # read on its connection
            seen["connection"] = id(connection.connection)
            yield helpline.public_id.encode()
        yield b"end"

    connection.ensure_connection()
    caller_connection = id(connection.connection)
    caller_niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    assert list(background_stream(produce)) == [b"line-1", b"end"]
    assert seen["thread"] != threading.get_ident()
    assert seen["connection"] != caller_connection
    if sys.platform == "linux":
        assert seen["niceness"] == background.NICENESS == 19
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller_niceness
    assert _threads() == []


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_thread_is_raised_to_the_caller_after_the_chunks_before_it() -> None:
    def produce() -> Iterator[bytes]:
        yield b"first"
        raise ValueError("broken")

    chunks = background_stream(produce)
    assert next(chunks) == b"first"
    with pytest.raises(ValueError, match="broken"):
        next(chunks)
    assert _threads() == []


@pytest.mark.django_db(transaction=True)
def test_a_download_stopped_half_way_closes_the_source_and_ends_its_thread() -> None:
    closed = threading.Event()
    produced = []

    def produce() -> Iterator[bytes]:
        try:
            n = 0
            while True:  # endless: only the caller's stop ends it
                n += 1
                produced.append(n)
                yield str(n).encode()
        finally:
            closed.set()

    chunks = background_stream(produce)
    assert [next(chunks), next(chunks)] == [b"1", b"2"]
    chunks.close()  # what the server does when the client goes away

    assert closed.is_set()
    assert _threads() == []
    # The thread stopped with at most the queue's depth produced ahead of the client.
    assert len(produced) <= 2 + background.DEPTH + 1


@pytest.mark.django_db
def test_inside_a_transaction_the_chunks_are_produced_by_the_caller() -> None:
    # Another connection would not see what the caller's transaction wrote.
    Helpline.objects.create(public_id="unseen-elsewhere", name="U", country_code="GB")
    threads = []

    def produce() -> Iterator[bytes]:
        threads.append(threading.get_ident())
        yield from (h.public_id.encode() for h in Helpline.objects.all())

    assert list(background_stream(produce)) == [b"unseen-elsewhere"]
    assert threads == [threading.get_ident()]
