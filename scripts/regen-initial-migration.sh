#!/usr/bin/env bash
# Until the first release, the schema is one migration generated from storage/tables.py.
# Run this after changing a table; it rewrites storage/migrations/versions/0001_initial_schema.py.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f storage/migrations/versions/0001_initial_schema.py
tmp=$(mktemp -d)
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from carepath.storage.migrate import alembic_config
command.revision(alembic_config(f"sqlite:///{sys.argv[1]}/gen.db"), message="initial schema",
                 autogenerate=True, rev_id="0001")
PY
sed -i 's/astext_type=Text()/astext_type=sa.Text()/g; s/^Create Date: .*/Create Date: 2026-11-23/' \
  storage/migrations/versions/0001_initial_schema.py
rm -rf "$tmp"
