"""Reads of the audit trail."""

from collections.abc import Collection, Mapping

from django.db import models
from django.db.models import Q

from audit.models import AuditEntry


def entries_about(
    objects: Mapping[type[models.Model], Collection[str]], *, limit: int
) -> list[AuditEntry]:
    """The newest `limit` entries about the given objects: model -> the identities its
    entries are recorded under (`audit.trail.AUDITED`: a key's prefix, else the primary
    key as text). One query, on the (object_type, object_id) index."""
    condition = Q()
    for model, identities in objects.items():
        if identities:
            condition |= Q(object_type=model._meta.label_lower, object_id__in=list(identities))
    if not condition:
        return []
    return list(AuditEntry.objects.filter(condition).order_by("-at", "-id")[:limit])
