"""`make run` migrates an embedded SQLite database: every migration must apply there too (PostgreSQL-only
parts, such as operator classes, trigram indexes and the audit trigger, are skipped or made plain), and
the newest ones must go back and forth."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_every_migration_applies_on_sqlite_and_the_newest_go_back_and_forth(tmp_path):
    db = tmp_path / "make-run.sqlite3"
    steps = [("migrate", "--noinput"), ("migrate", "inventory", "0008", "--noinput"), ("migrate", "--noinput")]
    for step in steps:
        done = _manage(*step, db=db)
        assert done.returncode == 0, f"{' '.join(step)}\n{done.stderr[-3000:]}"
