#!/usr/bin/env bash
# Check the served OpenAPI document the way strict tools read it.
#
# Usage (inside scripts/with-test-db.sh, which provides DATABASE_URL):
#   scripts/openapi-check.sh
#
# Starts the server as scripts/schemathesis.sh does (scratch database, demo
# data, free loopback port), fetches /api/openapi.json, then
#   1. validates it against OpenAPI 3.1 with openapi-spec-validator;
#   2. generates a Python client from it with openapi-python-client,
#      warnings counted as failures;
#   3. imports every module of the generated package.
# Everything runs offline from .venv (`just setup` installs the tools); the
# document and the client go to a temporary directory, removed at the end.
# Exits non-zero at the first step that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
# The generator runs ruff (installed with it) on its output: it must be on PATH.
export PATH="$PWD/$VENV/bin:$PATH"

# shellcheck source=scripts/lib/scratch-server.sh
source scripts/lib/scratch-server.sh
start_scratch_server openapi

work="$(mktemp -d)"
# The scratch server's trap stops the server; this one also removes $work.
trap 'stop_scratch_server; rm -rf -- "$work"' EXIT

python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
  "$base/api/openapi.json" >"$work/openapi.json"

echo "openapi-check: validating against OpenAPI 3.1"
openapi-spec-validator --schema 3.1 --validation-errors all "$work/openapi.json"

echo "openapi-check: generating a Python client"
# --meta none: the output directory is the package itself.
(cd "$work" && openapi-python-client generate --path openapi.json --meta none \
  --output-path skillpay_client --fail-on-warning)

echo "openapi-check: importing the generated client"
python -c '
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import skillpay_client
modules = [m.name for m in pkgutil.walk_packages(skillpay_client.__path__, "skillpay_client.")]
for name in modules:
    importlib.import_module(name)
print(f"openapi-check: imported skillpay_client and its {len(modules)} modules")
' "$work"
