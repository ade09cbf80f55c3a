"""The deployment files agree with each other and with the code: the gunicorn config loads, the Procfile's,
systemd's, the Dockerfile's and compose's web processes run the same command (the webhook dispatcher's too), and each names modules that
exist. (No Docker engine here: the image itself is not built by the suite; README says so.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, str]:
    return dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())


def test_the_gunicorn_config_loads_with_the_app():
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi",
                           "--check-config"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_process_file_runs_the_same_web_worker_and_beat_commands():
    procs = _procfile()
    assert set(procs) == {"release", "web", "worker", "beat", "dispatcher"}
    web = procs["web"]
    docker_cmd = re.search(r'^CMD \[(.*)\]$', (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert " ".join(part.strip().strip('"') for part in docker_cmd.split(",")) == web
    assert web in (ROOT / "deploy/systemd/switchboard-web.service").read_text()
    compose = (ROOT / "compose.yaml").read_text()
    assert '["gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"]' in compose
    assert "celery -A config worker" in procs["worker"] and "celery -A config beat" in procs["beat"]
    assert "-A config beat" in (ROOT / "deploy/systemd/switchboard-beat.service").read_text()
    assert "USER switchboard" in (ROOT / "Dockerfile").read_text()  # never root


def test_the_webhook_dispatcher_runs_the_same_command_everywhere_and_the_command_exists():
    dispatcher = _procfile()["dispatcher"]
    assert dispatcher == "python manage.py webhook_dispatcher"
    assert (ROOT / "webhooks/management/commands/webhook_dispatcher.py").exists()
    assert "manage.py webhook_dispatcher" in (ROOT / "deploy/systemd/switchboard-dispatcher.service").read_text()
    assert '["python", "manage.py", "webhook_dispatcher"]' in (ROOT / "compose.yaml").read_text()
