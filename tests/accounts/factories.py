from accounts.models import ApiToken
from accounts.services import api_token_create
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
