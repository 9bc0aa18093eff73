"""The columns an event row is written with, and the PostgreSQL type of each.

Free of Django, so that bench/run.py can build its COPY before Django is set up;
events.services writes every event with them (COPY's binary format and the typed
single-row insert both need the types).
"""

from collections.abc import Mapping
from types import MappingProxyType

EVENT_COLUMN_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "type": "varchar",
        "partner_id": "int8",
        "api_key_prefix": "varchar",
        "is_test": "bool",
        "helpline_id": "int8",
        "session_id": "varchar",
        "timestamp": "timestamptz",
        "contact_method": "varchar",
        "received_at": "timestamptz",
    }
)
