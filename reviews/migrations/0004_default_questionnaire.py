from django.db import migrations


def install(apps, schema_editor):
    """The standard 360 questionnaire: every competency in use, in their order."""
    FeedbackTemplate = apps.get_model("reviews", "FeedbackTemplate")
    FeedbackTemplateItem = apps.get_model("reviews", "FeedbackTemplateItem")
    Competency = apps.get_model("reviews", "Competency")
    if FeedbackTemplate.objects.exists():
        return
    template = FeedbackTemplate.objects.create(
        name="Standard 360 questionnaire", name_zh="标准360度问卷",
        description="Communication, interpersonal relations, leadership, administrative ability and customer focus, "
                    "each rated 1–5 with a comment.",
        is_default=True,
    )
    for order, competency in enumerate(Competency.objects.filter(active=True).order_by("order", "code")):
        FeedbackTemplateItem.objects.create(template=template, competency=competency, order=order)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0003_feedback")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
