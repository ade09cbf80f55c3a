"""gunicorn for Switchboard: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`. Every value can be set from
the environment so one file serves a VM, systemd and the container."""

import multiprocessing
import os
import shutil

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: the app is database-bound and short-request; 2 × cores + 1 is gunicorn's own advice.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A request that takes longer is a bug (long work is a job): kill it rather than let it hold a worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (a slow leak in a dependency cannot grow forever), not all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# The load balancer in front is the only client that may set X-Forwarded-*: see TRUSTED_PROXY_COUNT.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# The request line holds secrets (a webhook endpoint's token, a signed label link, an invitation or password-reset
# key): this logger redacts them in the access and error logs.
logger_class = "deploy.gunicorn_logging.RedactingLogger"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


# Metrics across the workers (core.metrics): with PROMETHEUS_MULTIPROC_DIR set, every process writes its counts
# to files there and a scrape sums them. Emptied when gunicorn starts, as prometheus-client requires (files of
# an earlier run would be added again); a Celery worker of the same host shares the directory and is restarted
# with the web (a deploy restarts both).


def on_starting(server):
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
