#!/usr/bin/env bash
# Runs every Convoy test on a fresh Debian machine with only Rust installed:
# installs what the tests need (PostgreSQL, Mosquitto, socat, openssl, Node.js and npm, aiosmtpd, Chromium) from
# Debian's packages and the npm packages of the TimescaleDB test server (tests/timescale), of the
# browser tests (tests/browser) and of the web page's checks (tests/web), starts PostgreSQL in
# a temporary directory on a free loopback port, runs the web page's type check and unit tests,
# the formatter and lint checks and the whole test suite, and stops what it started. Tests that
# need Mosquitto or TimescaleDB start their own on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

postgres_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# 1. Packages.
missing=()
[ -n "$(postgres_bin)" ] || missing+=(postgresql)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v socat >/dev/null 2>&1 || missing+=(socat)
# The TLS scan of the listeners (tests/tls_scan.rs) runs Debian's `openssl s_client`.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
{ command -v node && command -v npm; } >/dev/null 2>&1 || missing+=(nodejs npm)
# A real SMTP server for the email notifier's tests (Debian's python3, not another on PATH).
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || missing+=(python3-aiosmtpd)
# Debian's Chromium for the browser tests (driven by playwright-core, which downloads no browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# A font with Chinese characters, so the screenshots of the page in Chinese show text, not boxes.
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# TimescaleDB inside PGlite, for the hypertable tests (Debian has no TimescaleDB): from its lockfile.
if [ ! -d tests/timescale/node_modules ]; then
  log "installing the TimescaleDB test server (npm ci in tests/timescale)"
  (cd tests/timescale && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# playwright-core for the browser tests (tests/browser.rs), from its lockfile.
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  log "installing playwright-core (npm ci in tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# TypeScript (and Leaflet's types) for the web page's checks (tests/web), from its lockfile.
if [ ! -d tests/web/node_modules ]; then
  log "installing TypeScript (npm ci in tests/web)"
  (cd tests/web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
export PATH="$PATH:/usr/sbin:$(postgres_bin)"

# 2. PostgreSQL, in a temporary directory, on a free loopback port.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

work=$(mktemp -d /tmp/convoy-test.XXXXXX)
chmod 755 "$work"
pg_data="$work/pg"
run_pg() {
  # PostgreSQL refuses to run as root: use its own account then.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  run_pg pg_ctl -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$pg_data"
[ "$(id -u)" = 0 ] && chown postgres "$pg_data"
run_pg initdb -D "$pg_data" -U postgres -A trust --no-sync >/dev/null
# A port found free may be taken before PostgreSQL binds it (a start once failed so, and passed
# at once when run again): a few ports are tried, and a last failure shows PostgreSQL's log.
for attempt in 1 2 3; do
  pg_port=$(free_port)
  if run_pg pg_ctl -D "$pg_data" -l "$pg_data/server.log" -w \
    -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null; then
    break
  fi
  if [ "$attempt" = 3 ]; then
    tail -n 20 "$pg_data/server.log" >&2 || true
    exit 1
  fi
  log "PostgreSQL did not start on port $pg_port; trying another"
done
export CONVOY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
log "PostgreSQL on 127.0.0.1:$pg_port"

# 3. Checks and tests. The web page's first, as they take seconds: its modules type-checked
# (TypeScript over their JSDoc, no build step: the browser loads the same files) and its pure
# modules' unit tests in Node's own test runner.
log "type-checking the web page (tsc in tests/web)"
(cd tests/web && node_modules/.bin/tsc --noEmit -p jsconfig.json)
log "the web page's unit tests (node --test in tests/web)"
(cd tests/web && node --test --test-reporter=spec)
# One build from scratch: incremental caches would only take disk.
export CARGO_INCREMENTAL=0
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# Run every test binary and doc test; then one closing line with the totals over all of them.
results="$work/test-output.txt"
set +e
cargo test --workspace --no-fail-fast --quiet "$@" 2>&1 | tee "$results"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "all tests: %d passed, %d failed\n", p, f }' "$results"
exit "$status"
