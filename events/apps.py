from django.apps import AppConfig
from django.db.backends.signals import connection_created


class EventsConfig(AppConfig):
    name = "events"

    def ready(self) -> None:
        from events import checks  # noqa: F401  (registers the settings checks)
        from events.services import create_incoming_table

        connection_created.connect(create_incoming_table, dispatch_uid="events-incoming-table")
