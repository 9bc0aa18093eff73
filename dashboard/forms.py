"""The billing export's form. The dashboard's filters live in `dashboard.query`."""

from datetime import date, datetime, timedelta

from django import forms

from helplines.models import Partner


def last_complete_month(now: datetime) -> date:
    """The first day of the last calendar month (UTC) that has ended: what a statement is
    usually wanted for, where the current month is still open."""
    return (now.date().replace(day=1) - timedelta(days=1)).replace(day=1)


class MonthForm(forms.Form):
    """A calendar month, YYYY-MM: a partner user's statement (their partner is their own)."""

    month = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$", required=True)

    def clean_month(self) -> date:
        year, month = self.cleaned_data["month"].split("-")
        return date(int(year), int(month), 1)


class BillingForm(MonthForm):
    """billing.csv: one calendar month, optionally one partner."""

    partner = forms.ModelChoiceField(
        queryset=Partner.objects.all(), to_field_name="slug", required=False
    )
