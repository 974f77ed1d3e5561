from django.db import migrations

COMPETENCIES = [
    ("communication", "Communication", "沟通能力", "Listens, explains clearly, adapts to the customer and colleagues.", "倾听、清晰表达，能根据客户和同事调整沟通方式。"),
    ("interpersonal", "Interpersonal relations", "人际关系", "Works with others, builds trust, handles conflict.", "与他人协作，建立信任，妥善处理冲突。"),
    ("leadership", "Leadership", "领导能力", "Sets direction, coaches, takes responsibility.", "明确方向，辅导他人，勇于担当。"),
    ("administration", "Administrative ability", "行政管理能力", "Plans, organises and follows procedures reliably.", "计划、组织工作，可靠地遵循流程。"),
    ("customer_focus", "Customer focus", "客户导向", "Puts the customer's need first and resolves it at first contact.", "以客户需求为先，力求一次解决。"),
]


def install(apps, schema_editor):
    Competency = apps.get_model("reviews", "Competency")
    for order, (code, name, name_zh, description, description_zh) in enumerate(COMPETENCIES):
        Competency.objects.get_or_create(
            code=code,
            defaults=dict(name=name, name_zh=name_zh, description=description, description_zh=description_zh, order=order),
        )


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
