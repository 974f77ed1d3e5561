"""Issue 11: an anonymous group is never shown under 3 answers. Cycles set below 3 are raised to 3 first, then
the floor is held by a validator and a check constraint."""

import django.core.validators
from django.db import migrations, models

FLOOR = 3


def raise_to_floor(apps, schema_editor):
    ReviewCycle = apps.get_model("reviews", "ReviewCycle")
    ReviewCycle.objects.filter(anonymity_threshold__lt=FLOOR).update(anonymity_threshold=FLOOR)


class Migration(migrations.Migration):

    dependencies = [
        ("reviews", "0007_reminder_run"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reviewcycle",
            name="anonymity_threshold",
            field=models.PositiveSmallIntegerField(
                default=3, validators=[django.core.validators.MinValueValidator(3)],
                verbose_name="minimum answers shown per group",
            ),
        ),
        # Nothing to undo: a threshold raised to 3 stays raised.
        migrations.RunPython(raise_to_floor, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="reviewcycle",
            constraint=models.CheckConstraint(
                condition=models.Q(anonymity_threshold__gte=3), name="cycle_anonymity_floor"
            ),
        ),
    ]
