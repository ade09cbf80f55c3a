from accounts.models import ApiToken, AuditEvent
from accounts.services import api_token_create
from accounts.services.audit import audit_record
from jobs.models import WorkerJob
from jobs.services import job_create
from tests.factories import object_factory


@object_factory(ApiToken)
def api_token(tenant):
    token, _ = api_token_create(merchant=tenant.merchant, user=tenant.user, name="guarded")
    return token


@object_factory(WorkerJob)
def worker_job(tenant):
    return job_create(merchant=tenant.merchant, kind="tests.guard", description="guarded", total=10)


@object_factory(AuditEvent)
def audit_event(tenant):
    return audit_record(merchant=tenant.merchant, action="tests.guarded", actor=tenant.user, object_repr="guarded")
