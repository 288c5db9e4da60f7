-- +goose Up
-- Portable SQL: this runs on SQLite and PostgreSQL alike. Times are Unix milliseconds.
CREATE TABLE assets (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    stream_path TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    step        TEXT NOT NULL DEFAULT '',
    percent     DOUBLE PRECISION NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    source_key  TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    width       INTEGER NOT NULL DEFAULT 0,
    height      INTEGER NOT NULL DEFAULT 0,
    renditions  TEXT NOT NULL DEFAULT '[]',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    started_at  BIGINT NOT NULL DEFAULT 0,
    ended_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX assets_created ON assets (created_at);
CREATE INDEX assets_state_created ON assets (state, created_at);

-- +goose Down
DROP TABLE assets;
