-- Positions are split by fix time so that retention drops whole days instead of deleting rows:
-- a TimescaleDB hypertable (daily chunks, compressed after 7 days) where TimescaleDB is
-- available, native daily range partitions otherwise.
--
-- The key becomes (vehicle, t, seq): the same identity as (vehicle, seq, t), in the order track
-- queries read, so it replaces the separate (vehicle, t) index and every insert maintains one
-- index instead of two.

-- Creates the daily partitions covering [from_t, to_t] (UTC days) when positions is natively
-- partitioned, and returns how many it created; does nothing on a hypertable.
CREATE FUNCTION convoy_ensure_partitions(from_t TIMESTAMPTZ, to_t TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    day TIMESTAMP := date_trunc('day', from_t AT TIME ZONE 'UTC');
    created INTEGER := 0;
    partition TEXT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'positions'::regclass) THEN
        RETURN 0;
    END IF;
    -- Several ingest processes may get here at once: one creates, the others find it made.
    PERFORM pg_advisory_xact_lock(7240357);
    WHILE day <= to_t AT TIME ZONE 'UTC' LOOP
        partition := 'positions_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(partition) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF positions FOR VALUES FROM (%L) TO (%L)',
                           partition, day AT TIME ZONE 'UTC', (day + INTERVAL '1 day') AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
        day := day + INTERVAL '1 day';
    END LOOP;
    RETURN created;
END $$;

DO $$
DECLARE
    timescale BOOLEAN := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb');
    day TIMESTAMPTZ;
BEGIN
    IF NOT timescale AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION timescaledb;
            timescale := true;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'TimescaleDB is installed but cannot be enabled (%): positions use native partitioning',
                SQLERRM;
        END;
    END IF;
    IF timescale THEN
        ALTER TABLE positions DROP CONSTRAINT positions_pkey;
        ALTER TABLE positions ADD PRIMARY KEY (vehicle, t, seq);
        DROP INDEX positions_by_vehicle_time;
        PERFORM create_hypertable('positions', 't', chunk_time_interval => INTERVAL '1 day',
                                  migrate_data => true);
        ALTER TABLE positions SET (timescaledb.compress, timescaledb.compress_segmentby = 'vehicle',
                                   timescaledb.compress_orderby = 't, seq');
        PERFORM add_compression_policy('positions', INTERVAL '7 days');
    ELSE
        ALTER TABLE positions RENAME TO positions_before_partitioning;
        CREATE TABLE positions (LIKE positions_before_partitioning INCLUDING DEFAULTS) PARTITION BY RANGE (t);
        FOR day IN SELECT DISTINCT date_trunc('day', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                   FROM positions_before_partitioning LOOP
            PERFORM convoy_ensure_partitions(day, day);
        END LOOP;
        INSERT INTO positions SELECT * FROM positions_before_partitioning;
        DROP TABLE positions_before_partitioning;
        ALTER TABLE positions ADD PRIMARY KEY (vehicle, t, seq);
    END IF;
END $$;
