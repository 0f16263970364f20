"""Hand-offs for deliveries stored before this node had a dispatcher (an upgrade from a
version without 0011): each arrived delivery of a kind some app handles gets one, so the
dispatcher takes it in as if it had just arrived. Handlers are idempotent (a document a
person had already opened keeps its row), so a delivery handled the old way is harmless."""

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone

RANK = {"thuong": 0, "khan": 1, "thuong_khan": 2, "hoa_toc": 3}


def hand_off_earlier_arrivals(apps, schema_editor):
    from tiendon.exchange import registry

    Delivery = apps.get_model("exchange", "EnvelopeRecipient")
    Handoff = apps.get_model("exchange", "Handoff")
    now = timezone.now()
    waiting = (
        Delivery.objects.filter(state="arrived")
        .exclude(Exists(Handoff.objects.filter(envelope=OuterRef("envelope"), unit=OuterRef("unit"))))
        .values_list("envelope_id", "unit_id", "envelope__kind", "envelope__precedence")
    )
    Handoff.objects.bulk_create(
        (
            Handoff(
                envelope_id=envelope_id,
                unit_id=unit_id,
                kind=kind,
                rank=RANK.get(precedence, 0),
                state="waiting",
                due_at=now,
            )
            for envelope_id, unit_id, kind, precedence in waiting.iterator()
            if registry.handler_for(kind) is not None
        ),
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [("exchange", "0011_dispatch")]

    operations = [migrations.RunPython(hand_off_earlier_arrivals, migrations.RunPython.noop)]
