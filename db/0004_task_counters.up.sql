-- Per-task counters, sharded by ord so that concurrent writers rarely touch the same row;
-- readers sum the shards. fillfactor 50 leaves room for HOT updates.

CREATE TABLE task_upload_counters (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                 BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    ord                     BIGINT NOT NULL,
    interval_collected      BIGINT NOT NULL DEFAULT 0,
    report_decode_failure   BIGINT NOT NULL DEFAULT 0,
    report_decrypt_failure  BIGINT NOT NULL DEFAULT 0,
    report_expired          BIGINT NOT NULL DEFAULT 0,
    report_outdated_key     BIGINT NOT NULL DEFAULT 0,
    report_success          BIGINT NOT NULL DEFAULT 0,
    report_too_early        BIGINT NOT NULL DEFAULT 0,
    task_expired            BIGINT NOT NULL DEFAULT 0,
    UNIQUE (task_id, ord)
) WITH (fillfactor = 50);

CREATE TABLE task_aggregation_counters (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                 BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    ord                     BIGINT NOT NULL,
    success                 BIGINT NOT NULL DEFAULT 0,
    UNIQUE (task_id, ord)
) WITH (fillfactor = 50);
