"""A logging filter that keeps values out of the SQL that Django logs at DEBUG level.

Django logs every query on `django.db.backends` when DEBUG is on (or a test captures
queries), with the parameters written into the SQL: session ids of end users, session keys,
key prefixes. This filter replaces every quoted literal with '…' and drops the parameters,
so that a debug log shows the shape of each query and none of its values.
"""

import logging
import re

# A quoted SQL literal: '...' with '' inside for a quote (E'...' strings match from the ').
_LITERAL = re.compile(r"'(?:[^']|'')*'")
HIDDEN = "'…'"


class SqlValuesHidden(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        sql = getattr(record, "sql", None)
        if isinstance(sql, str):
            hidden = _LITERAL.sub(HIDDEN, sql)
            record.sql = hidden
            record.params = None
            record.msg = "(%.3f) %s; alias=%s"
            record.args = (getattr(record, "duration", 0.0), hidden, getattr(record, "alias", ""))
        return True
