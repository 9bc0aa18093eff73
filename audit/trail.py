"""What the audit trail records, and the signal receivers that record it.

Every save and delete of an audited model, and every change to its many-to-many fields,
writes one AuditEntry in the same transaction: the changed fields only, before and after.
Secrets never reach an entry: excluded fields are not read at all, and a change to a secret
field (a password hash) is noted without its value. Bulk updates send no signal: the
product changes audited rows one save at a time (key revocation included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from audit.actor import current_actor
from audit.models import Action, AuditEntry

# Written instead of a secret field's value when it changes.
NOT_RECORDED = "[not recorded]"


@dataclass(frozen=True)
class Audited:
    """How one model is recorded."""

    # Never read nor written: secrets that never change after creation (a key's hash and
    # its primary key, which embeds the hash) and noise (a sign-in's last_login).
    exclude: frozenset[str] = frozenset()
    # A change is recorded, its value never.
    secret: frozenset[str] = frozenset()
    # When set, only these fields are recorded (a TOTP device: never its key or counters).
    only: frozenset[str] | None = None
    # The attribute written as object_id.
    identity: str = "pk"


AUDITED: dict[str, Audited] = {
    "helplines.Partner": Audited(),  # daily_quota is the directory quota
    "helplines.PartnerAPIKey": Audited(exclude=frozenset({"id", "hashed_key"}), identity="prefix"),
    "helplines.Helpline": Audited(),
    "helplines.Topic": Audited(),
    "auth.User": Audited(exclude=frozenset({"last_login"}), secret=frozenset({"password"})),
    "auth.Group": Audited(),
    "otp_totp.TOTPDevice": Audited(only=frozenset({"user", "name", "confirmed"})),
    "accounts.PartnerMembership": Audited(),  # which partner a partner user belongs to
    "oauth.PartnerClient": Audited(),  # a partner's OAuth2 client: created, revoked
    "oauth2_provider.Application": Audited(secret=frozenset({"client_secret"})),
}


# Through model -> (the model owning the field, the field), filled by connect().
_audited_m2m: dict[
    type[models.Model], tuple[type[models.Model], models.ManyToManyField[Any, Any]]
] = {}


def rules_for(model: type[models.Model]) -> Audited | None:
    return AUDITED.get(model._meta.label)


def tracked_fields(model: type[models.Model], rules: Audited) -> list[models.Field[Any, Any]]:
    return [
        field
        for field in model._meta.concrete_fields
        if field.name not in rules.exclude and (rules.only is None or field.name in rules.only)
    ]


def snapshot(instance: models.Model, rules: Audited) -> dict[str, Any]:
    """The tracked fields' values, as JSON would store them (foreign keys as ids)."""
    return {
        field.name: _jsonable(getattr(instance, field.attname))
        for field in tracked_fields(type(instance), rules)
    }


def changed(
    before: dict[str, Any], after: dict[str, Any], rules: Audited
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value differs, each side masked where secret."""
    names = [name for name in after if before.get(name) != after[name]]
    return (
        {name: _masked(name, before.get(name), rules) for name in names if name in before},
        {name: _masked(name, after[name], rules) for name in names},
    )


def record(
    *,
    action: Action,
    instance: models.Model,
    rules: Audited,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEntry:
    actor_user_id, actor = current_actor()
    return AuditEntry.objects.create(
        actor_user_id=actor_user_id,
        actor=actor[:150],
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(getattr(instance, rules.identity))[:64],
        object_repr=str(instance)[:200],
        before=before,
        after=after,
    )


# --------------------------------------------------------------------------- receivers


def _before_save(
    sender: type[models.Model],
    instance: models.Model,
    raw: bool,
    update_fields: frozenset[str] | None,
    **kwargs: Any,
) -> None:
    rules = rules_for(sender)
    if rules is None or raw:
        return
    instance.__dict__.pop("_audit_before", None)
    if instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not {
        field.name for field in tracked_fields(sender, rules)
    } & set(update_fields):
        return  # e.g. a sign-in saving last_login alone: nothing audited changes
    stored = sender._base_manager.using(kwargs["using"]).filter(pk=instance.pk).first()
    if stored is not None:
        instance.__dict__["_audit_before"] = snapshot(stored, rules)


def _after_save(
    sender: type[models.Model], instance: models.Model, created: bool, raw: bool, **kwargs: Any
) -> None:
    rules = rules_for(sender)
    if rules is None or raw:
        return
    after = snapshot(instance, rules)
    if created:
        masked = _all_masked(after, rules)
        record(action=Action.CREATE, instance=instance, rules=rules, before={}, after=masked)
        return
    before = instance.__dict__.pop("_audit_before", None)
    if before is None:
        return
    old, new = changed(before, after, rules)
    if new:
        record(action=Action.UPDATE, instance=instance, rules=rules, before=old, after=new)


def _after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    rules = rules_for(sender)
    if rules is None:
        return
    before = _all_masked(snapshot(instance, rules), rules)
    record(action=Action.DELETE, instance=instance, rules=rules, before=before, after={})


def _m2m_changed(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    model: type[models.Model],
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    owner, field = _audited_m2m.get(sender, (None, None))
    if owner is None or field is None:
        return
    rules = rules_for(owner)
    assert rules is not None
    stage, _, operation = action.partition("_")
    pending: dict[str, dict[Any, tuple[models.Model, list[str]]]] = instance.__dict__.setdefault(
        "_audit_m2m", {}
    )
    key = f"{field.name}:{operation}"
    if stage == "pre":
        if not reverse:
            owners: list[models.Model] = [instance]
        elif pk_set is not None:
            owners = list(owner._base_manager.filter(pk__in=pk_set))
        else:  # a reverse clear: every owner related to the instance
            owners = list(owner._base_manager.filter(**{field.name: instance}))
        pending[key] = {obj.pk: (obj, _m2m_value(obj, field)) for obj in owners}
        return
    for obj, before in pending.pop(key, {}).values():
        after = _m2m_value(obj, field)
        if before != after:
            record(
                action=Action.UPDATE,
                instance=obj,
                rules=rules,
                before={field.name: before},
                after={field.name: after},
            )


def connect() -> None:
    """Connects the receivers to every audited model (AuditConfig.ready)."""
    for label, rules in AUDITED.items():
        model = apps.get_model(label)
        uid = f"audit:{label}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}:pre_save")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"{uid}:post_save")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=f"{uid}:post_delete")
        for field in model._meta.many_to_many:
            if field.name in rules.exclude or (
                rules.only is not None and field.name not in rules.only
            ):
                continue
            assert isinstance(field, models.ManyToManyField)
            through = field.remote_field.through
            assert through is not None
            _audited_m2m[through] = (model, field)
            m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"{uid}:{field.name}")


def _m2m_value(obj: models.Model, field: models.ManyToManyField[Any, Any]) -> list[str]:
    """The related objects, by a readable identity (permissions as app_label.codename)."""
    related = field.related_model
    rows = related._default_manager.filter(**{field.related_query_name(): obj.pk})
    if related._meta.label == "auth.Permission":
        return sorted(
            f"{app_label}.{codename}"
            for app_label, codename in rows.values_list("content_type__app_label", "codename")
        )
    return sorted(str(row) for row in rows)


def _masked(name: str, value: Any, rules: Audited) -> Any:
    return NOT_RECORDED if name in rules.secret else value


def _all_masked(values: dict[str, Any], rules: Audited) -> dict[str, Any]:
    return {name: _masked(name, value, rules) for name, value in values.items()}


def _jsonable(value: Any) -> Any:
    """Dates and times as ISO 8601 text, decimals and UUIDs as text; the rest as is."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return DjangoJSONEncoder().default(value)
