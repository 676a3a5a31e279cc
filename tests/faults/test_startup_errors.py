"""Start-up errors say what is wrong: the variable at fault and why, not a misleading neighbour."""

from __future__ import annotations

from tests.test_cli import ADMIN_EMAIL, env, run, served  # noqa: F401 - fixtures


def test_a_weak_production_secret_is_reported_as_such(env, monkeypatch, served):  # noqa: F811
    monkeypatch.setenv("IMS_ENV", "production")
    monkeypatch.setenv("IMS_SECRET_KEY", "changeme")
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_PASSWORD", "a perfectly long password")
    result = run("serve")
    assert result.exit_code == 2 and served == []
    assert "IMS_SECRET_KEY is a placeholder value" in result.output
    assert "Bootstrap admin" not in result.output


def test_a_bad_setting_names_its_variable(env, monkeypatch, served):  # noqa: F811
    monkeypatch.setenv("IMS_TOKEN_IDLE_MINUTES", "0")
    for command in (["serve"], ["migrate"], ["audit", "verify"]):
        result = run(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "Configuration error: IMS_TOKEN_IDLE_MINUTES:" in result.output


def test_a_weak_bootstrap_password_names_the_variable(env, monkeypatch, served):  # noqa: F811
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("IMS_BOOTSTRAP_ADMIN_PASSWORD", "short")
    result = run("serve")
    assert result.exit_code == 2 and served == []
    assert "Bootstrap admin refused: IMS_BOOTSTRAP_ADMIN_PASSWORD:" in result.output


def test_an_unreachable_database_is_reported_without_its_password(env, monkeypatch, served):  # noqa: F811
    monkeypatch.setenv("IMS_DATABASE_URL", "postgresql+psycopg://ims:s3cret-pw@127.0.0.1:1/imschart")
    result = run("serve")
    assert result.exit_code == 2 and served == []
    assert "Cannot reach the database at postgresql+psycopg://ims:***@127.0.0.1:1/imschart" in result.output
    assert "s3cret-pw" not in result.output and "Traceback" not in result.output
