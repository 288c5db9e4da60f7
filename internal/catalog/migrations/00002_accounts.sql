-- +goose Up
-- Accounts and access. Portable SQL (SQLite and PostgreSQL); times are Unix
-- milliseconds, 0 meaning "never"; ids are generated in Go; flags are INTEGER 0/1.

-- A school belongs to a district (a free-text name such as "city-east"); district
-- visibility compares these names.
CREATE TABLE schools (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    district   TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX schools_name ON schools (name);

-- username is stored lower-case; password_hash is an argon2id PHC string.
-- school_id is NULL for a user of no school (a district admin or reviewer).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    school_id     TEXT REFERENCES schools (id),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_username ON users (username);
CREATE INDEX users_school ON users (school_id);

-- A browser session. The cookie carries a random secret; only its SHA-256 is kept, so
-- a copy of the database does not sign anyone in. csrf_token is returned to the page
-- and must come back in X-CSRF-Token on unsafe requests.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    remote       TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- A bearer token for the API and WHEP, shown once at creation; only its SHA-256 is
-- kept. prefix is the token's first characters, shown in listings to tell them apart.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    token_hash   TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- A recording room and its live stream. publish_key is kept in clear: RTSP digest
-- authentication (what encoders speak) needs the password itself on the server side
-- (gortsplib computes MD5(user:realm:pass) per request), so it cannot be a one-way hash.
-- It is a device credential an admin can rotate, never a person's password.
-- visibility is public, district, school or link; share_token is the link's secret.
CREATE TABLE classrooms (
    id           TEXT PRIMARY KEY,
    school_id    TEXT NOT NULL REFERENCES schools (id),
    name         TEXT NOT NULL,
    stream_path  TEXT NOT NULL,
    publish_user TEXT NOT NULL,
    publish_key  TEXT NOT NULL,
    visibility   TEXT NOT NULL DEFAULT 'school',
    share_token  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX classrooms_stream_path ON classrooms (stream_path);
CREATE INDEX classrooms_school ON classrooms (school_id);

-- Who did what: sign-ins, admin and review actions. actor is the username at the time
-- (kept when the user is renamed or gone); detail is a JSON object.
CREATE TABLE audit_log (
    id       TEXT PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor_id TEXT NOT NULL DEFAULT '',
    actor    TEXT NOT NULL DEFAULT '',
    action   TEXT NOT NULL,
    target   TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT '{}',
    remote   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor_at ON audit_log (actor, at);
CREATE INDEX audit_log_action_at ON audit_log (action, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE classrooms;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE schools;
