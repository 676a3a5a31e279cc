"""`imschart audit verify` names a wrong key as a wrong key, and a read-only check creates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import TEST_SECRET
from tests.test_cli import create_user, env, query, run  # noqa: F401  (env is a fixture)

OTHER_SECRET = "another-key-for-another-clinic-0123456789-abcdefghijkl"


@pytest.fixture
def trail(env, monkeypatch):  # noqa: F811
    """A trail written with TEST_SECRET: two staff accounts created."""
    assert create_user("kim@clinic.example").exit_code == 0
    assert create_user("lee@clinic.example").exit_code == 0
    return env


def _set_fingerprints(url: str, value: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_chain_heads SET key_fingerprint = :v WHERE seq > 0"), {"v": value})
    engine.dispose()


def test_the_trail_records_which_key_wrote_it(trail):
    fingerprints = {f for (f,) in query(trail, "SELECT key_fingerprint FROM audit_chain_heads WHERE seq > 0")}
    assert len(fingerprints) == 1
    [fingerprint] = fingerprints
    assert len(fingerprint) == 64 and TEST_SECRET not in fingerprint
    assert query(trail, "SELECT count(*) FROM audit_chain_heads WHERE seq = 0 AND key_fingerprint IS NOT NULL") \
        == [(0,)]


def test_verify_with_another_key_says_so_instead_of_altered(trail, monkeypatch):
    monkeypatch.setenv("IMS_SECRET_KEY", OTHER_SECRET)
    result = run("audit", "verify")
    assert result.exit_code == 2
    assert "this is not the key the audit trail was written with" in result.output
    assert "altered" not in result.output and "FAILED" not in result.output
    monkeypatch.setenv("IMS_SECRET_KEY", TEST_SECRET)
    assert run("audit", "verify").exit_code == 0


def test_edited_fingerprints_do_not_hide_the_right_key(trail, monkeypatch):
    # Someone rewrites the fingerprints: the right key still reproduces the entries, so the check goes on.
    _set_fingerprints(trail, "0" * 64)
    right = run("audit", "verify")
    assert right.exit_code == 0, right.output
    monkeypatch.setenv("IMS_SECRET_KEY", OTHER_SECRET)
    wrong = run("audit", "verify")
    assert wrong.exit_code == 2 and "not the key" in wrong.output


def test_a_trail_without_fingerprints_still_hints_at_the_key(trail, monkeypatch):
    """Trails written before fingerprints existed: every entry reads altered, and the CLI says why it may be."""
    _set_fingerprints(trail, None)  # type: ignore[arg-type]
    monkeypatch.setenv("IMS_SECRET_KEY", OTHER_SECRET)
    result = run("audit", "verify")
    assert result.exit_code == 1 and "altered" in result.output
    assert "is IMS_SECRET_KEY the key the trail was written with?" in result.output


def test_verify_with_no_key_creates_none(trail, tmp_path: Path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("IMS_DATA_DIR", str(elsewhere / "data"))
    monkeypatch.delenv("IMS_SECRET_KEY")
    result = run("audit", "verify")
    assert result.exit_code == 2 and "No secret key" in result.output and "IMS_SECRET_KEY" in result.output
    assert not elsewhere.exists()  # no data/secret_key made up in whatever directory it ran in
    exported = run("export", "--out", str(tmp_path / "out"))
    assert exported.exit_code == 2 and "No secret key" in exported.output and not elsewhere.exists()


def test_verify_in_an_empty_directory_creates_no_database(tmp_path: Path, monkeypatch):
    for name in ("IMS_DATABASE_URL", "IMS_SECRET_KEY", "IMS_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMS_DATA_DIR", str(tmp_path / "data"))
    result = run("audit", "verify")
    assert result.exit_code == 2 and "No database at" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_development_key_from_another_directory_is_named(tmp_path: Path, monkeypatch):
    """The issue's case: the server generated data/secret_key in its directory; verify runs from another."""
    for name in ("IMS_SECRET_KEY", "IMS_ENV"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{(tmp_path / 'clinic.db').as_posix()}"
    monkeypatch.setenv("IMS_DATABASE_URL", url)
    monkeypatch.setenv("IMS_DATA_DIR", str(tmp_path / "server" / "data"))
    assert create_user("kim@clinic.example").exit_code == 0  # writes the trail, generating the server's key
    assert run("audit", "verify").exit_code == 0
    other = tmp_path / "other" / "data"
    other.mkdir(parents=True)
    (other / "secret_key").write_text("a-different-development-key-0123456789-abcdefghijkl\n")
    monkeypatch.setenv("IMS_DATA_DIR", str(other))
    result = run("audit", "verify")
    assert result.exit_code == 2 and "not the key the audit trail was written with" in result.output
