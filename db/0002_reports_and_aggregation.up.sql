-- Client reports, aggregation jobs and report aggregations. Time ranges are [start, end)
-- BIGINT pairs with B-tree indexes instead of Janus's TSRANGE + GiST: no btree_gist
-- extension needed, and the queries only ever compare bounds.

CREATE TYPE aggregation_job_state AS ENUM ('IN_PROGRESS', 'FINISHED', 'ABANDONED', 'DELETED');
CREATE TYPE report_aggregation_state AS ENUM
    ('START_LEADER', 'WAITING_LEADER', 'WAITING_HELPER', 'FINISHED', 'FAILED');

CREATE TABLE client_reports (
    id                            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                       BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    report_id                     BYTEA NOT NULL CHECK (length(report_id) = 16),
    client_timestamp              BIGINT NOT NULL,
    extensions                    BYTEA,          -- encoded; NULL once scrubbed
    public_share                  BYTEA,
    leader_input_share            BYTEA,          -- decrypted leader share (leader only)
    helper_encrypted_input_share  BYTEA,          -- encoded HpkeCiphertext (leader only)
    aggregation_started           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by                    TEXT NOT NULL,
    UNIQUE (task_id, report_id)
);
-- The job creator's scan: unaggregated reports of a task, oldest first.
CREATE INDEX client_reports_unaggregated ON client_reports (task_id, client_timestamp)
    WHERE aggregation_started = FALSE;
CREATE INDEX client_reports_task_and_time ON client_reports (task_id, client_timestamp);

CREATE TABLE aggregation_jobs (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                 BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    aggregation_job_id      BYTEA NOT NULL CHECK (length(aggregation_job_id) = 16),
    aggregation_param       BYTEA NOT NULL,
    batch_id                BYTEA,                -- fixed_size tasks only
    client_timestamp_start  BIGINT NOT NULL,      -- [start, end) of the reports' times
    client_timestamp_end    BIGINT NOT NULL,
    state                   aggregation_job_state NOT NULL,
    step                    INTEGER NOT NULL,
    last_request_hash       BYTEA,                -- helper: replayed requests are answered again
    lease_expiry            BIGINT NOT NULL DEFAULT 0,  -- 0: never leased / released
    lease_token             BYTEA,
    lease_attempts          BIGINT NOT NULL DEFAULT 0,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by              TEXT NOT NULL,
    UNIQUE (task_id, aggregation_job_id)
);
-- The driver's acquire query only ever looks at leasable jobs.
CREATE INDEX aggregation_jobs_leasable ON aggregation_jobs (lease_expiry)
    WHERE state = 'IN_PROGRESS';
CREATE INDEX aggregation_jobs_task_and_time ON aggregation_jobs (task_id, client_timestamp_end);

CREATE TABLE report_aggregations (
    id                            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                       BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    aggregation_job_id            BIGINT NOT NULL REFERENCES aggregation_jobs (id) ON DELETE CASCADE,
    ord                           BIGINT NOT NULL,  -- position in the job's request
    client_report_id              BYTEA NOT NULL,
    client_timestamp              BIGINT NOT NULL,
    last_prep_resp                BYTEA,            -- helper: encoded PrepareResp for replays
    state                         report_aggregation_state NOT NULL,
    public_share                  BYTEA,            -- START_LEADER
    leader_extensions             BYTEA,            -- START_LEADER
    leader_input_share            BYTEA,            -- START_LEADER
    helper_encrypted_input_share  BYTEA,            -- START_LEADER
    leader_prep_transition        BYTEA,            -- WAITING_LEADER
    helper_prep_state             BYTEA,            -- WAITING_HELPER
    error_code                    SMALLINT,         -- FAILED: PrepareError
    created_at                    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by                    TEXT NOT NULL,
    UNIQUE (aggregation_job_id, ord)
);
-- Replay checks look a report up by id within its task.
CREATE INDEX report_aggregations_client_report_id ON report_aggregations (task_id, client_report_id);
