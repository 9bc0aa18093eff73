"""The dashboard says how fresh its figures are: when the rollup they come from ran."""

from datetime import UTC, datetime

from django.test import Client

from events.models import RollupState


def test_the_dashboard_says_how_fresh_its_figures_are(staff_client: Client) -> None:
    client = staff_client
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert '<p class="help" id="figures-as-of">No figures computed yet.</p>' in response.text

    RollupState.objects.update_or_create(
        pk=1, defaults={"last_run_at": datetime(2026, 12, 2, 9, 41, 7, tzinfo=UTC)}
    )
    response = client.get("/dashboard/")
    assert (
        '<p class="help" id="figures-as-of">Figures include the events received up to '
        "2026-12-02 09:41 UTC.</p>"
    ) in response.text
