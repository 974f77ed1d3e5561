from django.db import migrations
from django.utils import timezone


def install(apps, schema_editor):
    import secrets

    from scorecard.calculations import parse_formula
    from scorecard.default_library import KPIS, MEASURES, PERSPECTIVES

    Perspective = apps.get_model("scorecard", "Perspective")
    Measure = apps.get_model("scorecard", "Measure")
    Kpi = apps.get_model("scorecard", "Kpi")
    KpiTerm = apps.get_model("scorecard", "KpiTerm")
    perspectives = {}
    for order, (code, name, name_zh, question, question_zh) in enumerate(PERSPECTIVES):
        perspectives[code], _ = Perspective.objects.get_or_create(
            code=code,
            defaults=dict(name=name, name_zh=name_zh, question=question, question_zh=question_zh, weight=25, order=order),
        )
    measures = {}
    for code, name, name_zh, description, description_zh in MEASURES:
        measures[code], _ = Measure.objects.get_or_create(
            code=code,
            defaults=dict(name=name, name_zh=name_zh, description=description, description_zh=description_zh),
        )
    for order, row in enumerate(KPIS):
        (code, perspective, formula, unit, direction, baseline, typical, excellent, weight,
         name, name_zh, definition, definition_zh) = row
        if Kpi.objects.filter(code=code).exists():
            continue
        parsed = parse_formula(formula)
        kpi = Kpi.objects.create(
            code=code, perspective=perspectives[perspective], formula=parsed.canonical(), factor=parsed.factor,
            unit=unit, direction=direction, baseline=baseline, typical=typical, excellent=excellent,
            weight=weight, name=name, name_zh=name_zh, definition=definition, definition_zh=definition_zh,
            order=order,
        )
        for part, codes in (("num", parsed.numerator), ("den", parsed.denominator)):
            for m in codes:
                KpiTerm.objects.create(kpi=kpi, measure=measures[m], part=part)
    # The library's first history records, so the first edit shows old → new.
    for model in ("Perspective", "Kpi"):
        Historical = apps.get_model("scorecard", f"Historical{model}")
        fields = [f.attname for f in Historical._meta.fields if f.attname not in {
            "history_id", "history_date", "history_change_reason", "history_type", "history_user_id"}]
        for obj in apps.get_model("scorecard", model).objects.all():
            if not Historical.objects.filter(id=obj.pk).exists():
                Historical.objects.create(
                    history_date=timezone.now(), history_type="+", history_change_reason="default library",
                    **{f: getattr(obj, f) for f in fields},
                )
    apps.get_model("scorecard", "CacheVersion").objects.update_or_create(
        pk=1, defaults={"library": secrets.randbits(62), "org": secrets.randbits(62)}
    )


class Migration(migrations.Migration):
    dependencies = [("scorecard", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
