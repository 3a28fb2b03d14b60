"""The built-in categories of need (a community adds its own on top)."""

from django.db import migrations

BUILTIN = [
    # code, Chinese, English, default urgency, residents may pick it
    ("groceries", "生活物资代购", "Groceries", "normal", True),
    ("medicine", "药品代购", "Medicine purchase", "urgent", True),
    ("prescription", "处方续药", "Prescription refill", "urgent", True),
    ("gas_cylinder", "煤气罐", "Gas cylinder", "urgent", True),
    ("utility_topup", "燃气/电/水卡充值", "Gas / power / water card top-up", "normal", True),
    ("transport_dialysis", "透析转运", "Transport: dialysis", "critical", True),
    ("transport_chemo", "化疗转运", "Transport: chemotherapy", "critical", True),
    ("transport_prenatal", "产检转运", "Transport: prenatal care", "urgent", True),
    ("transport_emergency", "急诊就医转运", "Transport: emergency", "critical", True),
    ("mobility_aids", "助行器具", "Mobility aids", "normal", True),
    ("meals", "送餐", "Meals", "normal", True),
    ("study", "学习资料", "Study materials", "normal", True),
    ("counselling", "心理疏导", "Counselling", "normal", True),
    ("pets", "宠物照料", "Pets", "normal", True),
    ("other", "其他", "Other", "normal", True),
    ("care_followup", "关怀回访", "Care follow-up", "urgent", False),
]


def create(apps, schema_editor):
    Category = apps.get_model("relief", "Category")
    Category.objects.bulk_create(
        Category(
            code=code,
            kind=code,
            name_zh=zh,
            name_en=en,
            urgency=urgency,
            for_residents=for_residents,
            order=(i + 1) * 10,
        )
        for i, (code, zh, en, urgency, for_residents) in enumerate(BUILTIN)
    )


def remove(apps, schema_editor):
    apps.get_model("relief", "Category").objects.filter(area_code="").delete()


class Migration(migrations.Migration):
    dependencies = [("relief", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
