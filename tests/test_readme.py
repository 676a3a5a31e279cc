"""The README's first-visit walkthrough works as written: its shell block runs against a live server.

curl is made to fail on any HTTP error (`--fail-with-body`) and the shell stops at the first failing step,
so a walkthrough that drifts from the API fails here instead of on a newcomer's first day.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.passwords import hash_password
from app.kit import audit
from app.kit.actor import SYSTEM_ACTOR
from app.models.user import User
from tests.test_openapi import live_server  # noqa: F401  (a fixture)

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough() -> str:
    text = README.read_text()
    section = text.split("## A first visit, step by step", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return block


def test_the_walkthrough_is_the_story_of_the_examples():
    block = walkthrough()
    for needed in ('"authorized_to_needle": true', "-d username=", '"kind": "ims_dry_needling"',
                   '"kind": "electrical_stimulation"', '"e_stim"', "If-Match", "1286844020AB"):
        assert needed in block, needed


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs bash and curl")
def test_the_readme_walkthrough_runs(app, live_server):  # noqa: F811
    with app.state.sessionmaker() as session, session.begin():  # what IMS_BOOTSTRAP_ADMIN_* creates on first run
        admin = User(email="admin@clinic.example", full_name="Clinic Admin", role="admin",
                     password_hash=hash_password("choose-a-long-password"), active=True)
        session.add(admin)
        session.flush()
        audit.record(session, SYSTEM_ACTOR, "create", resource_type="User", resource_id=admin.id,
                     resource_version=admin.version)
    script = walkthrough().replace("IMS=http://127.0.0.1:8000", f"IMS={live_server}", 1)
    strict = "set -euo pipefail\ncurl() { command curl --fail-with-body --show-error \"$@\"; }\n"
    done = subprocess.run(["bash", "-c", strict + script + "\necho WALKTHROUGH-DONE $PATIENT $TREATMENT\n"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "WALKTHROUGH-DONE" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    with app.state.sessionmaker() as session:
        therapist = session.scalars(select(User).where(User.email == "a.chen@clinic.example")).one()
        assert therapist.authorized_to_needle
