"""Load on priority helplines: each rolling hour's clicks against the hourly capacity, the
episodes over it, and the emails about them (`python manage.py check_load`).

A rolling hour is [end - 1 h, end) for `end` on a UTC quarter-hour boundary: four whole
quarter-hours of `QuarterHourCount` (`events.metrics.rolling_hour_clicks`), every partner's
live clicks together. Only hours that the rollup had passed when it last ran are measured,
so each is complete for every event stored by then; a run measures each boundary since the
last one it measured (up to a day back), so a missed minute or a stopped scheduler skips no
hour. An event stored after its hour was measured (a late or retried event) is in every
figure but not in that measurement.

An episode starts at the first hour over `LOAD_ALERT_THRESHOLD_PERCENT` of the capacity and
ends once the helpline has been under it for a whole hour: the four boundaries after the
last hour over were all under. One email when it starts, one when it ends, each sent after
the episode is stored and marked sent only once delivered, so a failing mail server delays
an alert to the next run instead of losing it.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from events.days import QUARTER, floor_quarter
from events.metrics import HOUR, rolling_hour_clicks
from events.models import RollupState
from helplines.models import Helpline, HelplineLoad, LoadEpisode

logger = logging.getLogger(__name__)

# How far back a run catches up on boundaries it has not measured (a scheduler stopped for
# longer starts again from the last day: older hours no longer call for an alert).
CATCH_UP = timedelta(days=1)
# Notifications still due this long after an episode's event are sent; older ones (mail
# recipients configured long after) are left to the load page and the admin.
NOTIFY_WITHIN = timedelta(days=1)


@dataclass
class LoadReport:
    measured: int = 0  # rolling hours measured, all helplines together
    started: list[LoadEpisode] = field(default_factory=list)
    ended: list[LoadEpisode] = field(default_factory=list)
    emails: int = 0
    measured_to: datetime | None = None  # the last boundary measured; None: rollup never ran


def is_over(clicks: int, capacity: int, threshold_percent: int) -> bool:
    """Over the threshold: clicks > capacity x threshold / 100, in whole numbers (exact)."""
    return clicks * 100 > capacity * threshold_percent


def check_load(*, now: datetime) -> LoadReport:
    """Measure the rolling hours due, update the episodes and the directory's load status,
    then send the emails due."""
    report = LoadReport()
    rollup_ran = RollupState.objects.filter(pk=1).values_list("last_run_at", flat=True).first()
    if rollup_ran is None:
        return report
    latest = floor_quarter(min(now, rollup_ran))
    report.measured_to = latest
    with transaction.atomic():
        # Locking the helplines serialises two runs: the second measures nothing new.
        helplines = list(
            Helpline.objects.select_for_update()
            .filter(is_priority=True, hourly_capacity__isnull=False)
            .order_by("pk")
        )
        _measure(helplines, latest, report)
    report.emails = send_due_notifications(now=now)
    return report


def _measure(helplines: list[Helpline], latest: datetime, report: LoadReport) -> None:
    threshold = settings.LOAD_ALERT_THRESHOLD_PERCENT
    done = dict(
        HelplineLoad.objects.filter(helpline__in=helplines).values_list("helpline_id", "hour_end")
    )
    first_of = {
        line.pk: max(done[line.pk] + QUARTER, latest - CATCH_UP) if line.pk in done else latest
        for line in helplines
    }
    due = [line for line in helplines if first_of[line.pk] <= latest]
    if not due:
        return
    hours = rolling_hour_clicks(
        [line.pk for line in due], min(first_of[line.pk] for line in due), latest
    )
    episodes = {
        episode.helpline_id: episode
        for episode in LoadEpisode.objects.filter(helpline__in=due, ended_at__isnull=True)
    }
    for line in due:
        capacity = line.hourly_capacity
        assert capacity is not None
        clicks, over = 0, False
        for end, clicks in hours[line.pk]:
            if end < first_of[line.pk]:
                continue
            report.measured += 1
            over = is_over(clicks, capacity, threshold)
            episode = episodes.get(line.pk)
            if over and episode is None:
                episode = LoadEpisode.objects.create(
                    helpline=line,
                    started_at=end,
                    last_over_at=end,
                    peak_clicks=clicks,
                    peak_at=end,
                    capacity=capacity,
                )
                episodes[line.pk] = episode
                report.started.append(episode)
            elif over and episode is not None:
                episode.last_over_at = end
                if clicks > episode.peak_clicks:
                    episode.peak_clicks, episode.peak_at = clicks, end
                episode.save(update_fields=["last_over_at", "peak_clicks", "peak_at"])
            elif episode is not None and end - episode.last_over_at >= HOUR:
                # A whole hour under: the hours ending at the four boundaries after the
                # last one over (measured in order, each under, or it would be the last).
                episode.ended_at = end
                episode.save(update_fields=["ended_at"])
                del episodes[line.pk]
                report.ended.append(episode)
        HelplineLoad.objects.update_or_create(
            helpline=line,
            defaults={"hour_end": latest, "clicks": clicks, "capacity": capacity, "busy": over},
        )


def send_due_notifications(*, now: datetime) -> int:
    """Email the episodes started or ended and not yet told; returns the emails sent.

    Without LOAD_ALERT_EMAILS nothing is sent and nothing is marked: the alerts wait for
    recipients (for a day at most, NOTIFY_WITHIN).
    """
    recipients = list(settings.LOAD_ALERT_EMAILS)
    if not recipients:
        return 0
    since = now - NOTIFY_WITHIN
    due = (
        LoadEpisode.objects.select_related("helpline")
        .filter(
            Q(alert_sent_at__isnull=True, started_at__gte=since)
            | Q(recovery_sent_at__isnull=True, ended_at__gte=since)
        )
        .order_by("started_at", "pk")
    )
    sent = 0
    for episode in due:
        try:
            if episode.alert_sent_at is None and episode.started_at >= since:
                send_mail(*_alert(episode), from_email=None, recipient_list=recipients)
                episode.alert_sent_at = now
                episode.save(update_fields=["alert_sent_at"])
                sent += 1
            if episode.ended_at is not None and episode.recovery_sent_at is None:
                send_mail(*_recovery(episode), from_email=None, recipient_list=recipients)
                episode.recovery_sent_at = now
                episode.save(update_fields=["recovery_sent_at"])
                sent += 1
        except OSError:  # SMTP refused or unreachable: the next run tries again
            logger.exception("Load alert for episode %s not sent", episode.pk)
            break
    return sent


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _alert(episode: LoadEpisode) -> tuple[str, str]:
    line = episode.helpline
    threshold = settings.LOAD_ALERT_THRESHOLD_PERCENT
    subject = f"Over capacity: {line.name} ({episode.peak_clicks} clicks in an hour)"
    body = (
        f"{line.name} ({line.public_id}, {line.country_code}) had {episode.peak_clicks} "
        f"clicks in the hour to {_when(episode.peak_at)}, over {threshold}% of its hourly "
        f"capacity of {episode.capacity}.\n\n"
        f"Partners listing it now see its load as busy in the directory (GET /v1/helplines).\n"
        f"Another email follows when it has been under for a whole hour.\n\n"
        f"Clicks of every partner's live traffic, counted by the rollup; the load page of "
        f"the dashboard shows the hours and every episode."
    )
    return subject, body


def _recovery(episode: LoadEpisode) -> tuple[str, str]:
    line = episode.helpline
    assert episode.ended_at is not None
    subject = f"Back under capacity: {line.name}"
    body = (
        f"{line.name} ({line.public_id}, {line.country_code}) has been under its hourly "
        f"capacity of {episode.capacity} for a whole hour, up to {_when(episode.ended_at)}.\n\n"
        f"The episode: over from the hour to {_when(episode.started_at)} until the hour to "
        f"{_when(episode.last_over_at)}; peak {episode.peak_clicks} clicks in the hour to "
        f"{_when(episode.peak_at)}."
    )
    return subject, body
