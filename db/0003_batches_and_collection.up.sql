-- Batch aggregations (sharded), collection jobs, aggregate share jobs, outstanding batches.
-- batch_identifier is the DAP encoding of the batch identifier (an Interval for
-- time_interval, a BatchID for fixed_size); time_interval rows also carry the interval as
-- a [start, end) pair so that a collection interval can find its batches by range.

CREATE TYPE batch_aggregation_state AS ENUM ('AGGREGATING', 'COLLECTED', 'SCRUBBED');
CREATE TYPE collection_job_state AS ENUM ('START', 'FINISHED', 'ABANDONED', 'DELETED');
CREATE TYPE outstanding_batch_state AS ENUM ('FILLING', 'FILLED');

CREATE TABLE batch_aggregations (
    id                            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                       BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    batch_identifier              BYTEA NOT NULL,
    batch_interval_start          BIGINT,          -- time_interval only
    batch_interval_end            BIGINT,
    aggregation_param             BYTEA NOT NULL,
    ord                           BIGINT NOT NULL, -- shard
    state                         batch_aggregation_state NOT NULL,
    aggregate_share               BYTEA,
    report_count                  BIGINT NOT NULL,
    checksum                      BYTEA NOT NULL,
    client_timestamp_start        BIGINT NOT NULL,
    client_timestamp_end          BIGINT NOT NULL,
    aggregation_jobs_created      BIGINT NOT NULL,
    aggregation_jobs_terminated   BIGINT NOT NULL,
    created_at                    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by                    TEXT NOT NULL,
    UNIQUE (task_id, batch_identifier, aggregation_param, ord)
);
CREATE INDEX batch_aggregations_interval ON batch_aggregations (task_id, batch_interval_start)
    WHERE batch_interval_start IS NOT NULL;

CREATE TABLE collection_jobs (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                   BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    collection_job_id         BYTEA NOT NULL CHECK (length(collection_job_id) = 16),
    query                     BYTEA NOT NULL,      -- encoded Query
    aggregation_param         BYTEA NOT NULL,
    batch_identifier          BYTEA NOT NULL,
    batch_interval_start      BIGINT,              -- time_interval only
    batch_interval_end        BIGINT,
    state                     collection_job_state NOT NULL,
    report_count              BIGINT,              -- FINISHED
    client_timestamp_start    BIGINT,              -- FINISHED
    client_timestamp_end      BIGINT,
    helper_aggregate_share    BYTEA,               -- FINISHED: encoded HpkeCiphertext
    leader_aggregate_share    BYTEA,               -- FINISHED
    lease_expiry              BIGINT NOT NULL DEFAULT 0,
    lease_token               BYTEA,
    lease_attempts            BIGINT NOT NULL DEFAULT 0,
    step_attempts             BIGINT NOT NULL DEFAULT 0,  -- retry state of the collection driver
    created_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by                TEXT NOT NULL,
    UNIQUE (task_id, collection_job_id)
);
CREATE INDEX collection_jobs_leasable ON collection_jobs (lease_expiry) WHERE state = 'START';
CREATE INDEX collection_jobs_batch ON collection_jobs (task_id, batch_identifier);
CREATE INDEX collection_jobs_interval ON collection_jobs (task_id, batch_interval_start)
    WHERE batch_interval_start IS NOT NULL;

CREATE TABLE aggregate_share_jobs (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                 BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    batch_identifier        BYTEA NOT NULL,
    batch_interval_start    BIGINT,
    batch_interval_end      BIGINT,
    aggregation_param       BYTEA NOT NULL,
    helper_aggregate_share  BYTEA NOT NULL,
    report_count            BIGINT NOT NULL,
    checksum                BYTEA NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by              TEXT NOT NULL,
    UNIQUE (task_id, batch_identifier, aggregation_param)
);
CREATE INDEX aggregate_share_jobs_interval ON aggregate_share_jobs (task_id, batch_interval_start)
    WHERE batch_interval_start IS NOT NULL;

CREATE TABLE outstanding_batches (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id            BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    batch_id           BYTEA NOT NULL CHECK (length(batch_id) = 32),
    time_bucket_start  BIGINT,
    state              outstanding_batch_state NOT NULL DEFAULT 'FILLING',
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by         TEXT NOT NULL,
    UNIQUE (task_id, batch_id)
);
CREATE INDEX outstanding_batches_filling ON outstanding_batches (task_id, time_bucket_start)
    WHERE state = 'FILLING';
