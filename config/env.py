"""Reads the process environment into settings values.

Production refuses to start on a half-configured environment: every missing or
malformed variable is collected and reported in one message, so an operator
fixes them in one go instead of one crash at a time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from core.rates import rate_parse

REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS")


class ConfigurationError(ImproperlyConfigured):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "Switchboard cannot start: the environment is incomplete or malformed:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass
class Env:
    is_production: bool
    debug: bool
    secret_key: str
    database_url: str | None
    redis_url: str | None
    encryption_keys: list[str]
    allowed_hosts: list[str]
    webhook_base_url: str | None = None
    s3: dict[str, str] = field(default_factory=dict)
    google_client_id: str | None = None
    google_client_secret: str | None = None
    sentry_dsn: str | None = None
    email_url: str | None = None
    trusted_proxy_count: int = 0
    api_throttle_rate: str = "600/min"
    api_throttle_anon_rate: str = "120/min"


def _valid_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def _valid_url(value: str, schemes: tuple[str, ...]) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in schemes and bool(parsed.netloc or parsed.path)


def read_env(environ: Mapping[str, str]) -> Env:
    """Parse and validate; raise ConfigurationError naming every bad variable."""
    get = lambda name: (environ.get(name) or "").strip() or None  # noqa: E731
    is_production = (get("DJANGO_ENV") or "development") == "production"
    problems: list[str] = []

    if is_production:
        for name in REQUIRED_IN_PRODUCTION:
            if not get(name):
                problems.append(f"{name} is required when DJANGO_ENV=production")

    secret_key = get("SECRET_KEY")
    if secret_key and is_production and (len(secret_key) < 50 or len(set(secret_key)) < 5):
        problems.append("SECRET_KEY must be at least 50 characters with at least 5 distinct characters")

    database_url = get("DATABASE_URL")
    if database_url and not _valid_url(database_url, ("postgres", "postgresql", "pgsql", "sqlite")):
        problems.append("DATABASE_URL must be a postgres:// (or sqlite://) URL")
    if database_url and is_production and database_url.startswith("sqlite"):
        problems.append("DATABASE_URL must point to PostgreSQL in production")

    redis_url = get("REDIS_URL")
    if redis_url and not _valid_url(redis_url, ("redis", "rediss")):
        problems.append("REDIS_URL must be a redis:// or rediss:// URL")

    keys = [k.strip() for k in (get("FIELD_ENCRYPTION_KEYS") or "").split(",") if k.strip()]
    bad_keys = [i for i, k in enumerate(keys, 1) if not _valid_fernet_key(k)]
    if bad_keys:
        problems.append(
            "FIELD_ENCRYPTION_KEYS must be comma-separated Fernet keys (32 url-safe base64 bytes); "
            + ("key {} is malformed" if len(bad_keys) == 1 else "keys {} are malformed").format(  # before Django: no ngettext
                ", ".join(map(str, bad_keys)))
        )

    hosts = [h.strip() for h in (get("ALLOWED_HOSTS") or "").split(",") if h.strip()]
    if is_production and "*" in hosts:
        problems.append("ALLOWED_HOSTS must name the hosts, not '*'")

    webhook_base_url = get("WEBHOOK_BASE_URL")
    if webhook_base_url and not _valid_url(webhook_base_url, ("https", "http")):
        problems.append("WEBHOOK_BASE_URL must be an http(s) URL")
    if webhook_base_url and is_production and not webhook_base_url.startswith("https://"):
        problems.append("WEBHOOK_BASE_URL must use https in production")

    s3_names = ("S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_BUCKET")
    s3 = {n: get(n) for n in s3_names if get(n)}
    if s3 and len(s3) != len(s3_names):
        missing = [n for n in s3_names if n not in s3]
        problems.append(f"S3 storage needs all of {', '.join(s3_names)}; missing {', '.join(missing)}")

    google_id, google_secret = get("GOOGLE_CLIENT_ID"), get("GOOGLE_CLIENT_SECRET")
    if bool(google_id) != bool(google_secret):
        problems.append("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together")

    sentry_dsn = get("SENTRY_DSN")
    if sentry_dsn and not _valid_url(sentry_dsn, ("https", "http")):
        problems.append("SENTRY_DSN must be an http(s) URL")

    email_url = get("EMAIL_URL")
    if email_url and not _valid_url(email_url, ("smtp", "smtps", "submission", "console", "dummy", "memory")):
        problems.append("EMAIL_URL must be an smtp://, smtps://, submission:// or console:// URL")

    proxies = get("TRUSTED_PROXY_COUNT") or "0"
    if not (proxies.isascii() and proxies.isdigit() and int(proxies) <= 10):
        problems.append("TRUSTED_PROXY_COUNT must be the number of proxies in front of the app (0 to 10)")

    rates = {name: get(name) or default for name, default in
             (("API_THROTTLE_RATE", "600/min"), ("API_THROTTLE_ANON_RATE", "120/min"))}
    for name, rate in rates.items():
        try:
            rate_parse(rate)
        except ValueError:
            problems.append(f"{name} must be '<requests>/<period>' with a period of s, min, hour or day (e.g. 600/min)")

    if problems:
        raise ConfigurationError(problems)

    return Env(
        is_production=is_production,
        debug=not is_production and (get("DEBUG") or "1") not in ("0", "false", "False"),
        secret_key=secret_key or "dev-insecure-secret-key-only-for-local-development-0123456789",
        database_url=database_url,
        redis_url=redis_url,
        encryption_keys=keys,
        allowed_hosts=hosts or ["127.0.0.1", "localhost", "testserver", "[::1]"],
        webhook_base_url=webhook_base_url,
        s3=s3,
        google_client_id=google_id,
        google_client_secret=google_secret,
        sentry_dsn=sentry_dsn,
        email_url=email_url,
        trusted_proxy_count=int(proxies),
        api_throttle_rate=rates["API_THROTTLE_RATE"],
        api_throttle_anon_rate=rates["API_THROTTLE_ANON_RATE"],
    )
