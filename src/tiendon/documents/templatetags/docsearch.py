"""The panel of a document's page for due date and case files; a tag, so
the document pages need one line to show it."""

from __future__ import annotations

from typing import Any

from django import template

from tiendon.documents.models import DueDate
from tiendon.documents.search import casefiles
from tiendon.units.models import Person

register = template.Library()


@register.inclusion_tag("documents/docsearch_panel.html", takes_context=True)
def docsearch_panel(context: dict[str, Any], document: Any) -> dict[str, Any]:
    """Due date and case files of a document the page already checked the viewer may see."""
    viewer = context["request"].user
    if not isinstance(viewer, Person):
        return {"document": None}
    return {
        "document": document,
        "due": DueDate.objects.filter(document=document).select_related("person").first(),
        "case_files": casefiles.case_files_of(viewer, document),
    }
