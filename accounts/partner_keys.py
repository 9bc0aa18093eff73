"""The partner's keys page: its API keys and OAuth clients, self-served.

Issue a live or test key, or an OAuth client, named (its secret shown once); rename a key;
revoke a key or a client after a confirmation; see when each was last used, to the hour;
and the audit trail of them all (who, what, when). Every write goes through the services
staff use in the admin (`helplines.services`, `oauth.services`), so the audit trail records
it with the signed-in partner user as the actor, and revocation is immediate.

Isolation (OWASP API1): the partner comes from `partner_page` alone; a key or client named
in the URL is looked up among that partner's own, so another partner's prefix or label
answers 404 and changes nothing, whatever the form says.

A secret is never stored, logged or put in the session: the one answer that is not a
redirect after a POST is the page showing it (`Cache-Control: no-store`). A one-time form
token makes a reload of that page (the browser re-sending the POST) issue nothing and
redirect to the list instead.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.partner_views import partner_page
from api.utc import floor_hour
from audit.models import AuditEntry
from audit.selectors import entries_about
from events.selectors import SenderUse, key_usage, usage_by_sender
from helplines.models import Partner, PartnerAPIKey
from helplines.services import issue_key, revoke_keys
from oauth.models import PartnerClient
from oauth.services import create_client, revoke_clients

# Audit entries listed on the page, newest first (staff read every one in the admin).
ACTIVITY_ROWS = 50
# The session's one-time token of the issue forms (never a secret: a random nonce).
FORM_TOKEN = "partner_keys_form_token"
NAME_LENGTH = 50  # a key's name column

KINDS = [("live", "Live: real traffic, billed"), ("test", "Test: sandbox, never billed")]


class NewCredentialForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_LENGTH, help_text="What it is for, e.g. production or staging."
    )
    kind = forms.ChoiceField(choices=KINDS, initial="live", widget=forms.RadioSelect)
    form_token = forms.CharField(widget=forms.HiddenInput)


class RenameForm(forms.Form):
    name = forms.CharField(max_length=NAME_LENGTH)


class RevokeForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label="Yes, revoke it: anything still using it is refused from now on.",
        error_messages={"required": "Tick the box to confirm: revoking cannot be undone."},
    )


@dataclass(frozen=True, slots=True)
class ClientRow:
    name: str
    label: str
    client_id: str
    is_test: bool
    revoked: bool
    created: datetime
    last_used_hour: datetime | None
    events: int


def client_rows(partner: Partner, used: dict[str, SenderUse]) -> list[ClientRow]:
    """The partner's OAuth clients, newest first, with their last use (1 query)."""
    clients = (
        PartnerClient.objects.filter(partner=partner)
        .select_related("application")
        .order_by("-created_at")
    )
    return [
        ClientRow(
            name=client.application.name,
            label=client.label,
            client_id=client.application.client_id,
            is_test=client.is_test,
            revoked=client.revoked,
            created=client.created_at,
            last_used_hour=floor_hour(used[client.label].last) if client.label in used else None,
            events=used[client.label].events if client.label in used else 0,
        )
        for client in clients
    ]


def key_activity(partner: Partner, *, limit: int = ACTIVITY_ROWS) -> list[AuditEntry]:
    """The audit trail of the partner's keys and OAuth clients, newest first (3 queries)."""
    prefixes = PartnerAPIKey.objects.filter(partner=partner).values_list("prefix", flat=True)
    clients = PartnerClient.objects.filter(partner=partner).values_list("pk", flat=True)
    return entries_about(
        {PartnerAPIKey: list(prefixes), PartnerClient: [str(pk) for pk in clients]},
        limit=limit,
    )


@dataclass(frozen=True, slots=True)
class Activity:
    at: datetime
    actor: str
    what: str  # the key or client, as it was named then
    done: str  # in words, from the entry's changed fields (never a secret: see audit.trail)


def describe(entry: AuditEntry) -> str:
    """What an entry about a key or a client did, in words."""
    kind = "test" if entry.after.get("is_test") else "live"
    noun = "OAuth client" if entry.object_type == "oauth.partnerclient" else "key"
    if entry.action == "create":
        return f"issued a {kind} {noun}" if noun == "key" else f"created a {kind} {noun}"
    if entry.action == "delete":
        return f"deleted the {noun}"
    done = []
    for name, value in entry.after.items():
        if name == "revoked" and value is True:
            done.append(f"revoked the {noun}")
        elif name == "name":
            done.append(f"renamed it from {entry.before.get(name)!r} to {value!r}")
        else:
            done.append(f"changed {name}")
    return "; ".join(done)


def activity(partner: Partner) -> list[Activity]:
    return [
        Activity(entry.at, entry.actor, entry.object_repr, describe(entry))
        for entry in key_activity(partner)
    ]


def _new_form_token(request: HttpRequest) -> str:
    token = secrets.token_urlsafe(16)
    request.session[FORM_TOKEN] = token
    return token


def _spend_form_token(request: HttpRequest, sent: str) -> bool:
    """Whether `sent` is the session's current token; spent either way."""
    expected = request.session.pop(FORM_TOKEN, None)
    return expected is not None and secrets.compare_digest(expected, sent)


def _to_list(anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("partner:keys") + (f"#{anchor}" if anchor else ""))


def _secret_page(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    response = render(request, "partner/secret_shown.html", context)
    # The secret must not outlive this page in any cache, the browser's included.
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@partner_page
def keys(request: HttpRequest, partner: Partner) -> HttpResponse:
    used = usage_by_sender(partner.pk)
    token = _new_form_token(request)
    context = {
        "partner": partner,
        "title": "API keys and OAuth clients",
        "keys": key_usage(partner.pk),
        "clients": client_rows(partner, used),
        "activity": activity(partner),
        "key_form": NewCredentialForm(initial={"form_token": token, "name": "production"}),
        "client_form": NewCredentialForm(
            initial={"form_token": token, "name": "production"}, auto_id="id_client_%s"
        ),
    }
    return render(request, "partner/keys.html", context)


def _new_credential(request: HttpRequest) -> NewCredentialForm | None:
    """The valid form of a first POST; None (with a message) for an invalid or repeated one."""
    form = NewCredentialForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give it a name (at most 50 characters) and a kind.")
        return None
    if not _spend_form_token(request, form.cleaned_data["form_token"]):
        messages.warning(
            request,
            "That form was already sent, or is out of date: nothing new was issued. "
            "The list below is up to date.",
        )
        return None
    return form


def _issuing_view(
    anchor: str, make: Callable[[Partner, str, bool], dict[str, Any]]
) -> Callable[..., HttpResponseBase]:
    """The view behind a form that issues a credential: a first, valid POST issues it with
    `make(partner, name, is_test)`, which gives the secret page's context; anything else
    returns to the list at `anchor`."""

    @require_POST
    @partner_page
    def view(request: HttpRequest, partner: Partner) -> HttpResponse:
        form = _new_credential(request)
        if form is None:
            return _to_list(anchor)
        is_test = form.cleaned_data["kind"] == "test"
        context = make(partner, form.cleaned_data["name"], is_test)
        return _secret_page(request, {"partner": partner, **context})

    return view


def _new_key(partner: Partner, name: str, is_test: bool) -> dict[str, Any]:
    api_key, raw_key = issue_key(partner=partner, name=name, is_test=is_test)
    return {"title": "New API key", "api_key": api_key, "raw_key": raw_key}


def _new_client(partner: Partner, name: str, is_test: bool) -> dict[str, Any]:
    client, secret = create_client(partner=partner, name=name, is_test=is_test)
    return {"title": "New OAuth client", "client": client, "secret": secret}


issue = _issuing_view("keys", _new_key)
new_client = _issuing_view("clients", _new_client)


@require_POST
@partner_page
def rename(request: HttpRequest, partner: Partner, prefix: str) -> HttpResponse:
    api_key = get_object_or_404(PartnerAPIKey, partner=partner, prefix=prefix)
    form = RenameForm(request.POST)
    if form.is_valid():
        api_key.name = form.cleaned_data["name"]
        api_key.save(update_fields=["name"])  # one save: the audit trail records it
        messages.success(request, f"Key {api_key.prefix} renamed to {api_key.name}.")
    else:
        messages.error(request, "A key's name is 1 to 50 characters.")
    return _to_list("keys")


@require_http_methods(["GET", "POST"])
@partner_page
def revoke_key(request: HttpRequest, partner: Partner, prefix: str) -> HttpResponse:
    api_key = get_object_or_404(PartnerAPIKey, partner=partner, prefix=prefix)
    form = RevokeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if revoke_keys([api_key]):
            messages.success(request, f"Key {api_key.prefix} ({api_key.name}) is revoked.")
        else:
            messages.info(request, f"Key {api_key.prefix} was already revoked.")
        return _to_list("keys")
    what = f"the {'test' if api_key.is_test else 'live'} API key {api_key.name} ({api_key.prefix})"
    return render(
        request,
        "partner/confirm_revoke.html",
        {"partner": partner, "title": "Revoke an API key", "what": what, "form": form},
    )


@require_http_methods(["GET", "POST"])
@partner_page
def revoke_client(request: HttpRequest, partner: Partner, label: str) -> HttpResponse:
    client = get_object_or_404(
        PartnerClient.objects.select_related("application"), partner=partner, label=label
    )
    form = RevokeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if revoke_clients([client]):
            messages.success(
                request, f"OAuth client {client.label} is revoked, and its tokens with it."
            )
        else:
            messages.info(request, f"OAuth client {client.label} was already revoked.")
        return _to_list("clients")
    kind = "test" if client.is_test else "live"
    what = f"the {kind} OAuth client {client.application.name} ({client.label}) and its tokens"
    return render(
        request,
        "partner/confirm_revoke.html",
        {"partner": partner, "title": "Revoke an OAuth client", "what": what, "form": form},
    )
