#!/usr/bin/env bash
# Measures ingest side by side with what a user would run instead, in one run on this machine:
# broker -> ingest -> PostgreSQL / SQLite against the broker's own delivery rate to mosquitto_sub,
# psql COPY of the same rows, and SQLite's own batched insert; then publish-to-store latency at
# 10,000 vehicles x 1 Hz, and ingest memory per tracked vehicle. Figures go to docs/BENCHMARKS.md.
#
# Needs what scripts/test.sh installs (PostgreSQL, Mosquitto) and python3. Starts its own
# PostgreSQL (default settings: fsync on) and Mosquitto (deploy/mosquitto.conf's limits) on free
# loopback ports and stops them afterwards.
#
#   scripts/bench-ingest.sh            # everything (about 5 minutes)
#   QUICK=1 scripts/bench-ingest.sh    # smaller runs, no 10,000-vehicle latency run
#   LATENCY_ONLY=1 scripts/bench-ingest.sh  # only the 10,000-vehicle latency run
#   SIGNED_ONLY=1 scripts/bench-ingest.sh   # only signed tracks against unsigned (issue 15)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bench] %s\n' "$*" >&2; }
postgres_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
now() { date +%s.%N; }

export PATH="$PATH:/usr/sbin:$(postgres_bin)"
export PGOPTIONS="-c client_min_messages=warning"
: # built already
convoy=target/release/convoy

work=$(mktemp -d /tmp/convoy-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  run_pg pg_ctl -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# PostgreSQL with its default durability.
pg_port=$(free_port)
mkdir -p "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg"
run_pg initdb -D "$work/pg" -U postgres -A trust --no-sync >/dev/null
run_pg pg_ctl -D "$work/pg" -l "$work/pg/server.log" -w \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
pg_admin="postgres://postgres@127.0.0.1:$pg_port/postgres"

# Mosquitto with the limits of deploy/mosquitto.conf, anonymous on loopback.
mqtt_port=$(free_port)
cat >"$work/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
max_inflight_messages 10000
max_queued_messages 1000000
max_queued_bytes 0
persistence false
EOF
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
sleep 0.5
broker="mqtt://127.0.0.1:$mqtt_port"

if [ -n "${QUICK:-}" ]; then vehicles=100; fixes=1000; else vehicles=200; fixes=1000; fi
positions=$((vehicles * fixes))

fresh_pg() { # a migrated, empty database; prints its URL
  local name="bench_$1"
  psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
  "$convoy" migrate --database "postgres://postgres@127.0.0.1:$pg_port/$name" >/dev/null 2>&1
  echo "postgres://postgres@127.0.0.1:$pg_port/$name"
}

cpu_seconds() { # pid: user + system CPU seconds the process has used so far
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

through_ingest() { # label database batch fixes-per-vehicle [--signed]
  local label=$1 database=$2 batch=$3 per_vehicle=$4 signed=${5:-}
  RUST_LOG=info NO_COLOR=1 "$convoy" ingest --database "$database" --broker "$broker" --client-id "bench-$label" \
    2>"$work/ingest-$label.log" &
  local ingest=$!
  pids+=($ingest)
  sleep 1
  local line cpu
  line=$("$convoy" loadgen --broker "$broker" --database "$database" --vehicles "$vehicles" \
    --fixes "$per_vehicle" --batch "$batch" --rate 0 $signed 2>/dev/null | tail -n 1)
  cpu=$(cpu_seconds "$ingest")
  kill "$ingest"; wait "$ingest" 2>/dev/null || true
  echo "$label: $line"
  # What ingest's CPU went to: all of it, and verifying signed tracks (its own count).
  local verify signatures
  verify=$(grep -o 'verify_seconds="\?[0-9.]*' "$work/ingest-$label.log" | tail -n 1 | tr -dc '0-9.')
  signatures=$(grep -o 'signatures_checked=[0-9]*' "$work/ingest-$label.log" | tail -n 1 | tr -dc '0-9')
  python3 -c "c=$cpu; v=${verify:-0}; n=${signatures:-0}; print(f'  ingest CPU {c:.2f} s; verifying {v:.3f} s = {100*v/max(c,1e-9):.1f} % of it; {n} signatures checked')"
}

broker_alone() { # batch fixes-per-vehicle: the broker's delivery rate to mosquitto_sub
  local batch=$1 per_vehicle=$2 messages=$((vehicles * (($2 + $1 - 1) / $1)))
  mosquitto_sub -p "$mqtt_port" -q 1 -C "$messages" -t 'convoy/v1/vehicles/+/positions' >/dev/null &
  local sub=$!
  sleep 0.5
  local start; start=$(now)
  "$convoy" loadgen --broker "$broker" --vehicles "$vehicles" --fixes "$per_vehicle" --batch "$batch" \
    --rate 0 >/dev/null 2>&1
  wait "$sub"
  local end; end=$(now)
  python3 -c "import sys; n=$messages*$batch; s=$end-$start; print(f'mosquitto_sub, batch $batch: {n} positions in {s:.2f} s = {n/s:,.0f} positions/s ({$messages/s:,.0f} messages/s)')"
}

copy_ceiling() { # rows: psql COPY of the same rows into the same (empty) positions table
  local rows=$1 database; database=$(fresh_pg copy)
  python3 - "$rows" >"$work/rows.csv" <<'EOF'
import sys, datetime
rows = int(sys.argv[1])
day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
vehicles = 200
for i in range(rows):
    v, s = i % vehicles, i // vehicles + 1
    print(f"cp{v:05d},{s},{day}T00:{(s//60)%60:02d}:{s%60:02d}.{v:03d}Z,{48.1+s*1e-5},{11.5+v*1e-4},519.0,10.0,,3d,9,0.9,f,,{day}T00:00:00Z")
EOF
  local start; start=$(now)
  psql -q "$database" -c "\copy positions (vehicle, seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, late, implausible, received_at) FROM '$work/rows.csv' CSV"
  local end; end=$(now)
  python3 -c "s=$end-$start; print(f'psql COPY: $rows rows in {s:.2f} s = {$rows/s:,.0f} rows/s')"
}

sqlite_ceiling() { # rows: one executemany in one transaction into the same SQLite schema
  local rows=$1 db="$work/ceiling.db"
  "$convoy" migrate --database "sqlite://$db" >/dev/null 2>&1
  python3 - "$rows" "$db" <<'EOF'
import sqlite3, sys, time
rows, path = int(sys.argv[1]), sys.argv[2]
con = sqlite3.connect(path)
con.execute("PRAGMA journal_mode=WAL"); con.execute("PRAGMA synchronous=FULL")
data = [(f"cp{i % 200:05d}", i // 200 + 1, 1795946400000 + i, 48.1, 11.5, 519.0, 10.0, None, "3d", 9, 0.9,
         1795946400000, 0, None) for i in range(rows)]
start = time.time()
with con:
    con.executemany("INSERT INTO positions (vehicle, seq, t_ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, received_ms, late, implausible) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", data)
s = time.time() - start
print(f"python sqlite3 executemany: {rows} rows in {s:.2f} s = {rows/s:,.0f} rows/s")
EOF
}

if [ -n "${SIGNED_ONLY:-}" ]; then
  log "signed against unsigned, PostgreSQL and SQLite"
  through_ingest postgres-batch10 "$(fresh_pg b10)" 10 $((fixes * 2))
  through_ingest postgres-batch10-signed "$(fresh_pg b10s)" 10 $((fixes * 2)) --signed
  through_ingest postgres-batch1 "$(fresh_pg b1)" 1 "$fixes"
  through_ingest postgres-batch1-signed "$(fresh_pg b1s)" 1 "$fixes" --signed
  through_ingest sqlite-batch10 "sqlite://$work/b10.db" 10 $((fixes * 2))
  through_ingest sqlite-batch10-signed "sqlite://$work/b10s.db" 10 $((fixes * 2)) --signed
  exit 0
fi

if [ -z "${LATENCY_ONLY:-}" ]; then
log "live traffic: one position per message, $vehicles vehicles, $positions positions"
broker_alone 1 "$fixes"
through_ingest postgres-batch1 "$(fresh_pg b1)" 1 "$fixes"
through_ingest sqlite-batch1 "sqlite://$work/b1.db" 1 "$fixes"
log "batches of 10 positions, $((positions * 2)) positions"
broker_alone 10 $((fixes * 2))
through_ingest postgres-batch10 "$(fresh_pg b10)" 10 $((fixes * 2))
through_ingest sqlite-batch10 "sqlite://$work/b10.db" 10 $((fixes * 2))
log "signed tracks (issue 15): every vehicle signs every batch, as agents with a key do"
through_ingest postgres-batch10-signed "$(fresh_pg b10s)" 10 $((fixes * 2)) --signed
through_ingest postgres-batch1-signed "$(fresh_pg b1s)" 1 "$fixes" --signed
through_ingest sqlite-batch10-signed "sqlite://$work/b10s.db" 10 $((fixes * 2)) --signed
log "ceilings"
copy_ceiling $((positions * 2))
sqlite_ceiling $((positions * 2))
fi

if [ -z "${QUICK:-}" ]; then
  log "latency: 10,000 vehicles x 1 Hz for 60 s, PostgreSQL"
  database=$(fresh_pg fleet)
  "$convoy" ingest --database "$database" --broker "$broker" --client-id bench-fleet 2>"$work/ingest-fleet.log" &
  ingest=$!
  pids+=($ingest)
  sleep 1
  idle_kib=$(awk '/VmRSS/ {print $2}' /proc/$ingest/status)
  line=$("$convoy" loadgen --broker "$broker" --database "$database" --vehicles 10000 --fixes 60 --rate 1 \
    --connections 16 2>/dev/null | tail -n 1)
  peak_kib=$(awk '/VmHWM/ {print $2}' /proc/$ingest/status)
  kill "$ingest"; wait "$ingest" 2>/dev/null || true
  echo "postgres-10k-vehicles-1Hz: $line"
  python3 -c "print(f'ingest memory: {$idle_kib/1024:.1f} MiB idle, {$peak_kib/1024:.1f} MiB peak with 10,000 vehicles = {($peak_kib-$idle_kib)*1024/10000:,.0f} bytes per tracked vehicle')"
fi
