"""`{% signature_panel verification %}`: each signature of a received PDF as people read it
(who signed, for which unit, when, and whether it holds), never a distinguished name or a
validator's enum."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()

ERRORS = {
    "unsigned": lambda: _("The PDF carries no digital signature."),
    "corrupt_pdf": lambda: _("The PDF is damaged and cannot be read."),
    "signature_unreadable": lambda: _("A signature cannot be read."),
}


def verdict(check: dict[str, Any]) -> tuple[bool, str]:
    """Whether the signature holds, and why not, in the words of the reader."""
    if check.get("revoked"):
        return False, _("certificate revoked")
    if not check.get("intact") or not check.get("docmdp_ok", True):
        return False, _("changed after signing")
    if not check.get("trusted"):
        return False, _("certificate not issued by a trusted authority")
    if not check.get("valid") or not check.get("bottom_line"):
        return False, _("not valid")
    return True, _("valid signature")


def name_of(check: dict[str, Any]) -> tuple[str, str]:
    """The signer's name and unit (with the position, if the certificate names one); rows
    stored before these were kept read the subject."""
    if check.get("signer_name"):
        name, unit = str(check["signer_name"]), str(check.get("signer_unit", ""))
        title = str(check.get("signer_title", ""))
    else:
        subject = str(check.get("signer", ""))
        found = dict(re.findall(r"(Common Name|Organizational Unit|Title): ([^,]+)", subject))
        name = found.get("Common Name", subject)
        unit, title = found.get("Organizational Unit", ""), found.get("Title", "")
    return name, f"{title}, {unit}" if title and unit else title or unit


@register.inclusion_tag("documents/signature_panel.html")
def signature_panel(verification: list[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for check in verification or []:
        if check.get("error"):
            text = ERRORS.get(check["error"], lambda: _("It cannot be verified."))()
            rows.append({"ok": False, "state": text, "code": check["error"]})
            continue
        ok, state = verdict(check)
        who, unit = name_of(check)
        signed = check.get("signed_at")
        rows.append(
            {
                "ok": ok,
                "state": state,
                "who": who,
                "unit": unit,
                "at": dt.datetime.fromisoformat(signed) if signed else None,
                "stamped": check.get("timestamp_trusted"),
            }
        )
    return {"rows": rows, "all_ok": bool(rows) and all(r["ok"] for r in rows)}
