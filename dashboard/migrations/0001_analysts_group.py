"""The "Analysts" group: staff who may read the dashboard and the admin, never write.

Also creates the events.export_event permission that guards the admin's event export
(IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"); analysts do not get it.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

ANALYSTS = "Analysts"
VIEW_MODELS = [
    ("events", "event"),
    ("helplines", "partner"),
    ("helplines", "partnerapikey"),
    ("helplines", "helpline"),
    ("helplines", "topic"),
]


def create_analysts(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate): create them now.
    for label in ("events", "helplines"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    event_type = ContentType.objects.get(app_label="events", model="event")
    Permission.objects.get_or_create(
        content_type=event_type, codename="export_event", defaults={"name": "Can export events"}
    )
    group, _ = Group.objects.get_or_create(name=ANALYSTS)
    group.permissions.add(
        *(
            Permission.objects.get(
                content_type__app_label=app_label, content_type__model=model, codename=f"view_{model}"
            )
            for app_label, model in VIEW_MODELS
        )
    )


def remove_analysts(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ANALYSTS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("events", "0001_initial"),
        ("helplines", "0002_directory_quota_and_permissions"),
    ]

    operations = [migrations.RunPython(create_analysts, remove_analysts)]
