"""Route guards are defined once, in app/auth/guards.py, each named for the permission it needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from app.auth import guards
from app.auth.deps import required_permission
from app.auth.permissions import Permission

APP = Path(__file__).resolve().parents[2] / "app"


def test_no_router_defines_its_own_guard():
    """`Reader` once meant clinical:read in seven routers and patients:read in one: only app/auth/ says Authorize."""
    strays = [f"{path.relative_to(APP)}:{n}" for path in sorted(APP.rglob("*.py")) if path.parent.name != "auth"
              for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(r"\bAuthorize\(Permission", line)]
    assert strays == []


def test_each_guard_names_its_permission():
    for name, guard in vars(guards).items():
        if not name[:1].isupper() or not get_args(guard):
            continue
        permission = required_permission(get_args(guard)[1].dependency)
        assert isinstance(permission, Permission), name
        words = {"SignedIn": Permission.AUTHENTICATED, "ClinicExporter": Permission.EXPORT,
                 "WebhookManager": Permission.WEBHOOKS, "StaffManager": Permission.STAFF_MANAGE,
                 "IntegrationsManager": Permission.INTEGRATIONS_MANAGE}
        if name in words:
            assert permission == words[name], name
        else:  # ClinicalReader -> clinical:read, PatientsWriter -> patients:write, AuditReader -> audit:read ...
            area = re.match(r"[A-Z][a-z]+", name).group(0).lower()  # type: ignore[union-attr]
            verb = {"Reader": "read", "Writer": "write", "Importer": "import", "Exporter": "export"}[
                re.findall(r"[A-Z][a-z]+", name)[1]]
            assert permission == (f"{area}:{verb}" if area != "patient" else "patient:export"), name
