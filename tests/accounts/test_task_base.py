"""The tenant task base: merchant loaded and scoped, "missing" when gone, one retry style,
and services that enqueue by name after commit without importing any tasks module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from celery import shared_task
from django.db import transaction

from accounts.models import Merchant
from accounts.tasks import TenantTask
from accounts.tenancy import current_merchant_id, unscoped
from core.enqueue import enqueue_on_commit

CALLS: list[tuple[int, int]] = []


class Flaky(Exception):
    def __init__(self, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__("flaky")


@shared_task(base=TenantTask, name="tests.scope_probe")
def scope_probe(*, merchant: Merchant, value: int) -> dict:
    CALLS.append((merchant.pk, value))
    return {"merchant": merchant.pk, "scope": current_merchant_id(), "value": value}


@shared_task(base=TenantTask, bind=True, name="tests.flaky_probe", retry_for=(Flaky,), max_retries=3)
def flaky_probe(self, *, merchant: Merchant, fail_times: int) -> str:
    CALLS.append((merchant.pk, self.request.retries))
    if self.request.retries < fail_times:
        raise Flaky(retry_after=42.0)
    return f"ok after {self.request.retries}"


@shared_task(base=TenantTask, name="tests.broken_probe", retry_for=(Flaky,))
def broken_probe(*, merchant: Merchant) -> str:
    CALLS.append((merchant.pk, 0))
    raise ValueError("a bug, not a hiccup")


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.mark.django_db
def test_the_body_gets_the_merchant_inside_its_scope(merchant_a):
    result = scope_probe.apply(kwargs={"merchant_id": merchant_a.merchant.pk, "value": 7}).get()

    assert result == {"merchant": merchant_a.merchant.pk, "scope": merchant_a.merchant.pk, "value": 7}


@pytest.mark.django_db
@pytest.mark.parametrize("gone", ["deleted", "deactivated"])
def test_a_merchant_gone_meanwhile_makes_the_task_report_missing(merchant_a, gone):
    m = merchant_a.merchant
    with unscoped("test: the merchant goes away before the task runs"):
        if gone == "deleted":
            Merchant.objects.filter(pk=m.pk).delete()
        else:
            Merchant.objects.filter(pk=m.pk).update(is_active=False)

    result = scope_probe.apply(kwargs={"merchant_id": m.pk, "value": 1})

    assert (result.state, result.get()) == ("SUCCESS", "missing")
    assert CALLS == []


@pytest.mark.django_db
def test_recoverable_errors_are_retried_with_the_shared_backoff(merchant_a, monkeypatch):
    countdowns: list[float] = []
    original = flaky_probe.retry

    def spy(*args, **kwargs):
        countdowns.append(kwargs["countdown"])
        return original(*args, **kwargs)

    monkeypatch.setattr(flaky_probe, "retry", spy)
    m = merchant_a.merchant

    result = flaky_probe.apply(kwargs={"merchant_id": m.pk, "fail_times": 1}, throw=False)

    assert (result.state, result.result) == ("SUCCESS", "ok after 1")
    assert CALLS == [(m.pk, 0), (m.pk, 1)]  # the retry was sent merchant_id (JSON), not a Merchant
    assert countdowns == [42.0]  # the exception's Retry-After is the floor of the backoff (30s ceiling here)


@pytest.mark.django_db
def test_retries_stop_at_max_retries(merchant_a):
    # the run that already used its three retries fails again
    result = flaky_probe.apply(kwargs={"merchant_id": merchant_a.merchant.pk, "fail_times": 10}, retries=3,
                               throw=False)

    assert result.state == "FAILURE"
    assert isinstance(result.result, Flaky)
    assert len(CALLS) == 1  # no fourth retry


@pytest.mark.django_db
def test_other_errors_fail_at_once(merchant_a):
    result = broken_probe.apply(kwargs={"merchant_id": merchant_a.merchant.pk}, throw=False)

    assert result.state == "FAILURE"
    assert isinstance(result.result, ValueError)
    assert len(CALLS) == 1


@pytest.mark.django_db(transaction=True)
def test_enqueue_by_name_sends_after_commit_and_nothing_on_rollback(merchant_a):
    m = merchant_a.merchant
    with transaction.atomic():
        enqueue_on_commit("tests.scope_probe", merchant_id=m.pk, value=1)
        assert CALLS == []  # not before commit
    assert CALLS == [(m.pk, 1)]

    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit("tests.scope_probe", merchant_id=m.pk, value=2)
        raise RuntimeError("rolled back")
    assert CALLS == [(m.pk, 1)]


def test_enqueue_refuses_a_task_object():
    with pytest.raises(TypeError, match="task name"):
        enqueue_on_commit(scope_probe, merchant_id=1, value=1)


def test_no_service_imports_a_tasks_module():
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in sorted(root.glob("*/services*.py")) + sorted(root.glob("*/services/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            offenders += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[-1] == "tasks"]

    assert offenders == []
