from django.db import migrations, models


class Migration(migrations.Migration):
    """A covering index for the center-wide sums (selectors.daily_sums)."""

    dependencies = [
        ("scorecard", "0003_import_job_restart"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="measurement",
            index=models.Index(fields=["date", "measure", "value"], name="measurement_date_sum"),
        ),
    ]
