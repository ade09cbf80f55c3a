"""Production refuses a half-configured environment, naming every problem at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config.env import ConfigurationError, read_env

ROOT = Path(__file__).resolve().parents[2]


def complete_production_env() -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "p9-x!3kq2v7zL0m#wR5tYb8nC1dF4gH6jK*eS&uA@oI%Pl^Qz-7Gh2Vn8Xc4",
        "DATABASE_URL": "postgres://switchboard:pw@db.internal:5432/switchboard",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        "ALLOWED_HOSTS": "app.switchboard.example",
        "WEBHOOK_BASE_URL": "https://hooks.switchboard.example",
    }


def test_missing_variables_are_all_named_in_one_message():
    with pytest.raises(ConfigurationError) as caught:
        read_env({"DJANGO_ENV": "production"})

    message = str(caught.value)
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS"):
        assert f"{name} is required" in message
    assert len(caught.value.problems) == 5


def test_malformed_variables_are_all_named():
    env = complete_production_env() | {
        "SECRET_KEY": "short",
        "DATABASE_URL": "mysql://x/y",
        "REDIS_URL": "http://cache",
        "FIELD_ENCRYPTION_KEYS": "not-a-key," + Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "*",
        "WEBHOOK_BASE_URL": "http://plain.example",
        "GOOGLE_CLIENT_ID": "only-the-id",
        "S3_BUCKET": "b",
    }

    with pytest.raises(ConfigurationError) as caught:
        read_env(env)

    text = "\n".join(caught.value.problems)
    for fragment in ("SECRET_KEY must be at least 50", "DATABASE_URL must be", "REDIS_URL must be",
                     "key 1 is malformed", "ALLOWED_HOSTS must name", "WEBHOOK_BASE_URL must use https",
                     "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET", "S3 storage needs all of"):
        assert fragment in text
    assert len(caught.value.problems) == 8


def test_complete_production_environment_is_accepted():
    env = read_env(complete_production_env())

    assert env.is_production and not env.debug
    assert env.allowed_hosts == ["app.switchboard.example"]
    assert len(env.encryption_keys) == 2


def test_development_needs_no_variables():
    env = read_env({})

    assert not env.is_production and env.debug and env.database_url is None and env.redis_url is None


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SWITCHBOARD_TESTING",
                                                             "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER",
                                                             "DJANGO_ALLOW_ASYNC_UNSAFE")}  # set by tests/browser
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean | env,
                          capture_output=True, text=True, timeout=120)


def test_start_up_refuses_with_every_missing_variable():
    result = _manage(["check"], {"DJANGO_ENV": "production"})

    assert result.returncode != 0
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS"):
        assert f"{name} is required" in result.stderr


def test_check_deploy_is_silent_with_a_complete_production_environment():
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], complete_production_env())

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(("value", "count"), [(None, 0), ("0", 0), ("2", 2)])
def test_trusted_proxy_count_defaults_to_none_trusted(value, count):
    env = {**complete_production_env(), **({"TRUSTED_PROXY_COUNT": value} if value is not None else {})}
    assert read_env(env).trusted_proxy_count == count


@pytest.mark.parametrize("value", ["-1", "one", "٣", "99"])
def test_a_malformed_trusted_proxy_count_is_named(value):
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXY_COUNT"):
        read_env({**complete_production_env(), "TRUSTED_PROXY_COUNT": value})
