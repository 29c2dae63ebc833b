-- Taskprov (draft-wang-ppm-dap-taskprov-06, as Janus 0.7 runs it): the peer aggregators we
-- have agreed with, out of band, to run advertised tasks, their tokens, and per task the
-- advertised configuration it was opted into. Janus 0.7's tables, with this schema's
-- conventions (TIMESTAMPTZ records, BIGINT durations).

CREATE TABLE taskprov_peer_aggregators (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint               TEXT NOT NULL,             -- normalised (taskprov::normalize_endpoint)
    role                   aggregator_role NOT NULL,  -- the peer's role
    verify_key_init        BYTEA NOT NULL,            -- encrypted; 32 bytes in the clear
    tolerable_clock_skew   BIGINT NOT NULL,
    report_expiry_age      BIGINT,                    -- NULL: reports never expire
    collector_hpke_config  BYTEA NOT NULL,            -- encoded HpkeConfig
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by             TEXT NOT NULL,
    UNIQUE (endpoint, role)
);

CREATE TABLE taskprov_aggregator_auth_tokens (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    peer_aggregator_id  BIGINT NOT NULL REFERENCES taskprov_peer_aggregators (id) ON DELETE CASCADE,
    ord                 BIGINT NOT NULL,
    token               BYTEA NOT NULL,               -- encrypted
    type                auth_token_type NOT NULL DEFAULT 'BEARER',
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by          TEXT NOT NULL,
    UNIQUE (peer_aggregator_id, ord)
);

CREATE TABLE taskprov_collector_auth_tokens (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    peer_aggregator_id  BIGINT NOT NULL REFERENCES taskprov_peer_aggregators (id) ON DELETE CASCADE,
    ord                 BIGINT NOT NULL,
    token               BYTEA NOT NULL,               -- encrypted
    type                auth_token_type NOT NULL DEFAULT 'BEARER',
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by          TEXT NOT NULL,
    UNIQUE (peer_aggregator_id, ord)
);

-- Janus keeps only the TaskConfig's task_info (taskprov_task_info); we keep the whole
-- advertised TaskConfig, because the leader must send exactly those bytes (their SHA-256 is
-- the task id) in the dap-taskprov header of every request to the helper.
ALTER TABLE tasks ADD COLUMN taskprov_task_config BYTEA;
