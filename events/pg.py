"""Cursors binding parameters on the server (PostgreSQL), on Django's connections.

Django's own cursors splice parameters into the SQL text on the client and read results
as text. The ingest statements and the load page's read of a week of hours go through a
psycopg cursor that binds on the server instead: psycopg prepares a statement after a few
runs, so it is then parsed and planned once per connection, and results may be read in
binary (timestamps and integers decoded without parsing text). Wrapped as Django wraps
its cursors: errors are Django's (a lost database is the 503 of `api.middleware`),
queries are logged and counted.

Without Django's health check (CONN_HEALTH_CHECKS), which costs a round trip to the
database per request, a third of a single event's time: a connection that died since its
last request (a database restart) fails this request instead, with a JSON 503 and
Retry-After, and Django replaces the connection before the next one. Partners retry on
503 by contract, and an event is never stored twice (the identity rule).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper


@contextmanager
def server_bound_cursor(
    alias: str = DEFAULT_DB_ALIAS, *, binary: bool = False
) -> Iterator[CursorWrapper]:
    """A cursor of the `alias` connection (PostgreSQL) binding parameters on the server;
    `binary`: results read in binary."""
    connection = connections[alias]
    connection.ensure_connection()
    cursor: Any = psycopg.Cursor(connection.connection)
    if binary:
        cursor.format = psycopg.pq.Format.BINARY
    if connection.queries_logged:
        wrapped: CursorWrapper = connection.make_debug_cursor(cursor)
    else:
        wrapped = connection.make_cursor(cursor)
    with wrapped:
        yield wrapped
