#!/usr/bin/env bash
# Geofence cost per position: PostGIS and shapely on the same generated data.
# Generates the data if missing, runs both benchmarks, compares their results on the sampled
# rows and prints one summary line per method: `method positions_per_s`.
#
#   scripts/geofence-bench/run.sh [DATA_DIR]           # default target/geofence-bench
#   MOVES=10 POSITIONS=10000 scripts/geofence-bench/run.sh /tmp/gf-small   # quick check
#
# Environment:
#   MOVES (1000), POSITIONS (1000000), SEED (42)   data size, used when (re)generating
#   SAMPLE (20000)            rows for the per-position runs and the results files
#   BATCH (4000)              positions per batch
#   PG_BATCH_ROWS (200000)    rows for PostGIS's set-based run
#   SHAPELY_BATCH_ROWS        rows for shapely's batch run (default: all)
#   GF_PG_DSN                 PostgreSQL to use (a database in it is created if missing);
#                             default: the dev server at 127.0.0.1:54329 if it is up and has
#                             PostGIS, else a cluster of our own (OWN_PG=1 forces that) in
#                             /tmp/gfpg on 127.0.0.1:54339, stopped at the end
#   SKIP=postgis|shapely      leave one out
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/geofence-bench
DIR=${1:-target/geofence-bench}
MOVES=${MOVES:-1000}
POSITIONS=${POSITIONS:-1000000}
SEED=${SEED:-42}
SAMPLE=${SAMPLE:-20000}
BATCH=${BATCH:-4000}
PG_BATCH_ROWS=${PG_BATCH_ROWS:-200000}
SKIP=${SKIP:-}
OWN_PG_DIR=/tmp/gfpg
OWN_PG_PORT=54339

log() { printf '[geofence-bench] %s\n' "$*" >&2; }

# Python packages.
if ! python3 -c 'import shapely, numpy, psycopg' 2>/dev/null; then
  log "installing shapely, numpy and psycopg 3 from PyPI"
  python3 -m pip install -q shapely numpy 'psycopg[binary]'
fi

# Data.
params="moves=$MOVES positions=$POSITIONS seed=$SEED"
if [ ! -s "$DIR/positions.csv" ] || [ "$(cat "$DIR/.gen-params" 2>/dev/null)" != "$params" ]; then
  log "generating data ($params) into $DIR"
  python3 $here/gen_data.py "$DIR" --moves "$MOVES" --positions "$POSITIONS" --seed "$SEED"
  echo "$params" > "$DIR/.gen-params"
else
  log "using the data in $DIR ($params)"
fi

summary="$DIR/summary.txt"
: > "$summary"
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# PostgreSQL with PostGIS.
own_pg_started=
stop_own_pg() {
  if [ -n "$own_pg_started" ]; then
    log "stopping our PostgreSQL in $OWN_PG_DIR"
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$OWN_PG_DIR" -m fast -w stop >/dev/null || true
  fi
}
trap stop_own_pg EXIT
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
pg_has_postgis() { ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; }

if [ "$SKIP" != postgis ]; then
  if ! pg_has_postgis; then
    if [ "$(id -u)" = 0 ]; then
      log "installing PostGIS (postgresql-15-postgis-3)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15-postgis-3 >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15-postgis-3 >/dev/null; }
    else
      log "PostGIS is not installed: apt-get install -y postgresql-15-postgis-3"; exit 1
    fi
  fi
  if [ -z "${GF_PG_DSN:-}" ]; then
    if [ -z "${OWN_PG:-}" ] && "$pgbin/pg_isready" -q -h 127.0.0.1 -p 54329; then
      export GF_PG_DSN=postgres://postgres@127.0.0.1:54329/geofence_bench
    else
      if [ ! -s "$OWN_PG_DIR/PG_VERSION" ]; then
        mkdir -p "$OWN_PG_DIR" && chown postgres: "$OWN_PG_DIR"
        runuser -u postgres -- "$pgbin/initdb" -D "$OWN_PG_DIR" --auth=trust -U postgres >/dev/null
      fi
      log "starting our PostgreSQL in $OWN_PG_DIR on 127.0.0.1:$OWN_PG_PORT"
      runuser -u postgres -- "$pgbin/pg_ctl" -D "$OWN_PG_DIR" -l "$OWN_PG_DIR/server.log" -w \
        -o "-p $OWN_PG_PORT -c listen_addresses=127.0.0.1 -k $OWN_PG_DIR" start >/dev/null
      own_pg_started=1
      export GF_PG_DSN=postgres://postgres@127.0.0.1:$OWN_PG_PORT/geofence_bench
    fi
  fi
  log "PostGIS run on ${GF_PG_DSN}"
  python3 $here/postgis_bench.py "$DIR" --sample "$SAMPLE" --batch "$BATCH" \
    --batch-rows "$PG_BATCH_ROWS" | tee -a "$summary"
fi

if [ "$SKIP" != shapely ]; then
  log "shapely run"
  python3 $here/shapely_bench.py "$DIR" --sample "$SAMPLE" --batch "$BATCH" \
    ${SHAPELY_BATCH_ROWS:+--batch-rows "$SHAPELY_BATCH_ROWS"} | tee -a "$summary"
fi

if [ -s "$DIR/postgis_results.csv" ] && [ -s "$DIR/shapely_results.csv" ] && [ -z "$SKIP" ]; then
  log "PostGIS vs shapely on the sampled rows"
  python3 $here/compare.py "$DIR/postgis_results.csv" "$DIR/shapely_results.csv" --data "$DIR" >&2
fi

log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "--- method positions_per_s ($DIR, $params, sample $SAMPLE, batch $BATCH)"
cat "$summary"
