"""An event's columns: those a row is written with, with the PostgreSQL type of each, and
those an export shows.

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

# The columns of an exported event, in order, the partner by its slug and the helpline by
# its public id: events.csv's header (dashboard.exports) and the admin's export
# (events.admin, which adds is_test).
EVENT_EXPORT_COLUMNS = (
    "id",
    "type",
    "partner",
    "helpline_id",
    "session_id",
    "timestamp",
    "contact_method",
    "received_at",
)
