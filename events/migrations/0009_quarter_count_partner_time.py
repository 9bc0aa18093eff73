"""One partner's quarter-hours by time (see the model): a plain CREATE INDEX, as 0008."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0008_quarter_count_live_clicks"),
        ("helplines", "0004_call_bucket_key_with_partner"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="quarterhourcount",
            index=models.Index(fields=["partner", "quarter"], name="quarter_count_partner_time"),
        ),
    ]
