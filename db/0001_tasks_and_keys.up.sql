-- Tasks and HPKE keys. Times and durations are BIGINT seconds since the UNIX epoch (DAP's
-- Time/Duration), not TIMESTAMP: see db/README.md. Encrypted columns hold
-- AES-128-GCM ciphertext‖tag‖nonce under the datastore keys.

CREATE TYPE aggregator_role AS ENUM ('LEADER', 'HELPER');
CREATE TYPE auth_token_type AS ENUM ('BEARER', 'DAP_AUTH');
CREATE TYPE hpke_key_state AS ENUM ('PENDING', 'ACTIVE', 'EXPIRED');

CREATE TABLE tasks (
    id                          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id                     BYTEA NOT NULL UNIQUE CHECK (length(task_id) = 32),
    aggregator_role             aggregator_role NOT NULL,
    peer_aggregator_endpoint    TEXT NOT NULL,
    query_type                  JSONB NOT NULL,   -- "TimeInterval" | {"FixedSize":{…}}
    vdaf                        JSONB NOT NULL,   -- "Prio3Count" | {"Prio3Sum":{"bits":16}}
    max_batch_query_count       BIGINT NOT NULL,
    task_expiration             BIGINT,           -- NULL: never
    report_expiry_age           BIGINT,           -- NULL: reports never expire
    min_batch_size              BIGINT NOT NULL,
    time_precision              BIGINT NOT NULL CHECK (time_precision > 0),
    tolerable_clock_skew        BIGINT NOT NULL,
    collector_hpke_config       BYTEA,            -- encoded HpkeConfig
    vdaf_verify_key             BYTEA NOT NULL,   -- encrypted
    aggregator_auth_token_type  auth_token_type,  -- leader: the token it sends
    aggregator_auth_token       BYTEA,            -- encrypted
    aggregator_auth_token_hash_type auth_token_type,  -- helper: the hash it checks
    aggregator_auth_token_hash  BYTEA,            -- SHA-256 of the token
    collector_auth_token_hash_type  auth_token_type,  -- leader: the collector's token hash
    collector_auth_token_hash   BYTEA,
    created_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by                  TEXT NOT NULL     -- the transaction name
);

CREATE TABLE task_hpke_keys (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id      BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    config_id    SMALLINT NOT NULL CHECK (config_id BETWEEN 0 AND 255),
    config       BYTEA NOT NULL,                  -- encoded HpkeConfig
    private_key  BYTEA NOT NULL,                  -- encrypted
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by   TEXT NOT NULL,
    UNIQUE (task_id, config_id)
);

CREATE TABLE global_hpke_keys (
    config_id             SMALLINT PRIMARY KEY CHECK (config_id BETWEEN 0 AND 255),
    config                BYTEA NOT NULL,         -- encoded HpkeConfig
    private_key           BYTEA NOT NULL,         -- encrypted
    state                 hpke_key_state NOT NULL DEFAULT 'PENDING',
    last_state_change_at  BIGINT NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by            TEXT NOT NULL
);
