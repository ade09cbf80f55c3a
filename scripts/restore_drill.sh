#!/usr/bin/env bash
# Restore drill: prove last night's kind of backup can be restored and used, before the day it is needed.
#
#   scripts/restore_drill.sh                        # dumps $DATABASE_URL, restores into a new scratch database
#   scripts/restore_drill.sh --dump /backups/x.dump # restores an existing custom-format dump instead
#
# 1. pg_dump --format=custom of DATABASE_URL (or the dump given); 2. createdb a scratch database named
# <name>_restore_<timestamp> on the same server; 3. pg_restore --exit-on-error into it; 4. against the
# restored copy: `manage.py migrate --check` (nothing pending), `inventory_audit` (every stock level equals
# its ledger) and `doctor` checks that need only the database (migrations, every stored secret decrypting
# with FIELD_ENCRYPTION_KEYS: a backup is useless without the keys that read it); 5. drop the scratch
# database (keep it with KEEP_RESTORED=1). Exit status 0 only if every step passed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
: "${DATABASE_URL:?DATABASE_URL must point at the PostgreSQL database to drill}"

dump=""
if [ "${1:-}" = "--dump" ]; then dump="$2"; fi

base="${DATABASE_URL%/*}"            # postgres://user@host:port
source_db="${DATABASE_URL##*/}"; source_db="${source_db%%\?*}"
scratch="${source_db}_restore_$(date +%Y%m%d%H%M%S)"
workdir="$(mktemp -d)"
cleanup() {
  if [ "${KEEP_RESTORED:-0}" != "1" ]; then dropdb --if-exists --maintenance-db="$base/postgres" "$scratch" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT

if [ -z "$dump" ]; then
  dump="$workdir/backup.dump"
  echo "drill: pg_dump $source_db"
  pg_dump --format=custom --no-owner --dbname="$DATABASE_URL" --file="$dump"
fi
echo "drill: restore into $scratch"
createdb --maintenance-db="$base/postgres" "$scratch"
pg_restore --exit-on-error --no-owner --dbname="$base/$scratch" "$dump"

export DATABASE_URL="$base/$scratch"
echo "drill: migrations"
"$PY" manage.py migrate --check --noinput
echo "drill: inventory_audit"
"$PY" manage.py inventory_audit
echo "drill: stored secrets"
"$PY" manage.py shell -c "
from core.health import check_run
from core.ops_checks import encryption_check
result = check_run(encryption_check)
print('drill:', result)
raise SystemExit(0 if result['status'] == 'ok' else 1)"
echo "drill: ok ($scratch restored from $(basename "$dump") and checked)"
