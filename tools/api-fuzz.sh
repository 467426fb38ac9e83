#!/usr/bin/env bash
# Fuzzes the HTTP API against its own OpenAPI document with schemathesis, on
# both backends: the debug binary serves `serve --demo` on a fresh SQLite file,
# then on a fresh Postgres database (created here and dropped at the end).
# Every check runs (no 5xx, status codes, content types, headers and bodies as
# documented, bad input refused, auth enforced); any failure exits non-zero.
#
#   tools/api-fuzz.sh [sqlite|postgres]...     (default: both)
#
# Env: TICKETCTL_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# FUZZ_MAX_EXAMPLES (cases per operation and phase, default 40),
# FUZZ_SEED (default 1, so a failure can be replayed), FUZZ_REPORT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v schemathesis >/dev/null || { echo "schemathesis is missing: pip install schemathesis" >&2; exit 2; }
PG_ADMIN_URL=${TICKETCTL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-40}
SEED=${FUZZ_SEED:-1}
REPORT_DIR=${FUZZ_REPORT_DIR:-target/api-fuzz}
BACKENDS=("$@")
[ ${#BACKENDS[@]} -gt 0 ] || BACKENDS=(sqlite postgres)

cargo build --quiet --bin ticketctl
BIN=target/debug/ticketctl
WORK=$(mktemp -d)
mkdir -p "$REPORT_DIR"
SERVER_PID=""
PG_DB=""

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts `serve --demo` on $1 (a database URL) and waits until it is ready.
start_server() {
  local url=$1 port
  port=$(free_port)
  BASE=http://127.0.0.1:$port
  # Rate limits far above what the fuzzer sends (so 429 does not drown the
  # run, while the limiter and its headers stay on); every hold cap off, so
  # the fuzzer's many holds are judged on their own merits; logins wait for
  # a hashing turn instead of being shed.
  "$BIN" serve --demo --demo-days 2 --database-url "$url" --listen "127.0.0.1:$port" \
    --rate-per-ip 100000 --rate-per-user 100000 --max-holds-per-account 0 \
    --max-holds-per-address 0 --password-hash-wait-ms 30000 \
    >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 240); do
    curl -fsS "$BASE/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; return 1; }
    sleep 0.5
  done
  echo "the server did not become ready" >&2; cat "$WORK/serve.log" >&2; return 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# An access token for a demo user.
token_of() {
  curl -fsS -H 'content-type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"demo-password\"}" "$BASE/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

fuzz() {
  local backend=$1 token
  # As the admin: every operation is open to it, so the fuzzer gets past the
  # role checks into the handlers (without a token it checks the 401s itself).
  token=$(token_of admin@demo.ticketctl)
  echo "== schemathesis on $backend ($BASE)"
  # The live seat-map stream never ends by design, so it is left out; its
  # document is checked by the integration tests. One worker: with two,
  # hypothesis parses strategy sources from two threads at once, which
  # CPython 3.11.7's ast module does not survive ("AST constructor recursion
  # depth mismatch", a runtime error that failed a CI run, not an API fault).
  schemathesis --config-file tools/schemathesis.toml run "$BASE/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $token" \
    --exclude-path-regex '/live$' \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 20 \
    --report junit --report-junit-path "$REPORT_DIR/$backend.xml" \
    --output-truncate true
}

status=0
for backend in "${BACKENDS[@]}"; do
  case $backend in
    sqlite) url="sqlite://$WORK/fuzz.db" ;;
    postgres)
      PG_DB="ticketctl_fuzz_$$"
      psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
      url="${PG_ADMIN_URL%/*}/$PG_DB" ;;
    *) echo "unknown backend: $backend (sqlite or postgres)" >&2; exit 2 ;;
  esac
  start_server "$url"
  fuzz "$backend" || status=1
  if grep -q 'panicked' "$WORK/serve.log"; then
    echo "the server panicked on $backend:" >&2; grep -A3 panicked "$WORK/serve.log" >&2; status=1
  fi
  stop_server
  if [ "$backend" = postgres ]; then
    psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
    PG_DB=""
  fi
done
exit $status
