"""Whole-clinic archive: export -> import into an empty database -> export again is identical."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from app import cli
from app.config import get_settings
from tests.conftest import TEST_SECRET
from tests.fhir.test_fhir import seeded  # noqa: F401  (the realistic chart fixture)

runner = CliRunner()


def _cli(monkeypatch, url: str, tmp_path: Path, *args: str):
    monkeypatch.setenv("IMS_DATABASE_URL", url)
    monkeypatch.setenv("IMS_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("IMS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        return runner.invoke(cli.cli, list(args))
    finally:
        get_settings.cache_clear()


def _contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "manifest.json"}


def test_export_import_export_round_trips(seeded, db_url, template_db, tmp_path, monkeypatch):  # noqa: F811
    first = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    archive = next((tmp_path / "a").glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["files"]["patients.ndjson"]["records"] == 1
        assert manifest["files"]["treatments.ndjson"]["records"] == 1
        assert manifest["files"]["clinical_revisions.ndjson"]["records"] == 3
        assert manifest["files"]["audit_events.ndjson"]["records"] > 10
        assert "auth_tokens.ndjson" not in manifest["files"]
        assert '"password_hash"' in z.read("users.ndjson").decode()  # a restore must keep staff able to sign in
    empty = template_db.empty()
    try:
        restored = _cli(monkeypatch, empty, tmp_path, "import-archive", str(archive))
        assert restored.exit_code == 0, restored.output
        again = _cli(monkeypatch, empty, tmp_path, "export", "--out", str(tmp_path / "b"))
        assert again.exit_code == 0
        assert _contents(archive) == _contents(next((tmp_path / "b").glob("*.zip")))
        assert _cli(monkeypatch, empty, tmp_path, "audit", "verify").exit_code == 0
        twice = _cli(monkeypatch, empty, tmp_path, "import-archive", str(archive))
        assert twice.exit_code == 1 and "not empty" in twice.output
    finally:
        template_db.drop(empty)


def test_damaged_archives_are_refused(seeded, db_url, template_db, tmp_path, monkeypatch):  # noqa: F811
    _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a"))
    original = next((tmp_path / "a").glob("*.zip"))
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(damaged, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "patients.ndjson":
                data = data.replace(b"Lindqvist", b"Lindkvist")
            dst.writestr(name, data)
    empty = template_db.empty()
    try:
        result = _cli(monkeypatch, empty, tmp_path, "import-archive", str(damaged))
        assert result.exit_code == 1 and "checksum" in result.output
    finally:
        template_db.drop(empty)


def test_csv_export_has_a_header_and_one_row_per_record(seeded, db_url, tmp_path, monkeypatch):  # noqa: F811
    result = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "c"), "--format", "csv")
    assert result.exit_code == 0
    with zipfile.ZipFile(next((tmp_path / "c").glob("*.zip"))) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("patients.csv").decode())))
    assert len(rows) == 1 and rows[0]["family_name"] == "Lindqvist"
    assert json.loads(rows[0]["address"])["city"] == "Toronto"


def test_since_exports_only_later_changes(seeded, db_url, tmp_path, monkeypatch):  # noqa: F811
    result = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "s"), "--since", "2999-01-01")
    assert result.exit_code == 0
    with zipfile.ZipFile(next((tmp_path / "s").glob("*.zip"))) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert all(f["records"] == 0 for name, f in manifest["files"].items()
               if name.split(".")[0] in ("patients", "treatments", "audit_events"))


