-- +goose Up
-- The teachers' library: lessons, their knowledge points, micro-lectures (clips of a
-- lesson, one knowledge point each) and captions. Portable SQL (SQLite and PostgreSQL);
-- times are Unix milliseconds, 0 meaning "not yet"; ids are generated in Go.
--
-- state is draft, submitted, approved, rejected or published (see catalog.LessonStates);
-- visibility is public, district, school or link, with share_token the link's secret.
-- school_id, district and teacher_name are copied from the teacher when the lesson is
-- made, so search and the visibility filter need no join.
-- search_text is lower-cased "title \n teacher_name \n point \n point ...", kept by Go:
-- one LIKE '%...%' over it is the substring search on titles, teachers and knowledge
-- points. Chinese has no word boundaries and most queries are 2-4 characters, too short
-- for trigram indexes, so a scan it is; scripts/bench measures it at 100,000 lessons.
CREATE TABLE lessons (
    id               TEXT PRIMARY KEY,
    asset_id         TEXT NOT NULL DEFAULT '',
    title            TEXT NOT NULL,
    teacher_id       TEXT NOT NULL,
    teacher_name     TEXT NOT NULL DEFAULT '',
    school_id        TEXT NOT NULL DEFAULT '',
    district         TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL DEFAULT '',
    grade            TEXT NOT NULL DEFAULT '',
    textbook_edition TEXT NOT NULL DEFAULT '',
    chapter          TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    origin           TEXT NOT NULL DEFAULT 'upload',
    duration_ms      BIGINT NOT NULL DEFAULT 0,
    state            TEXT NOT NULL DEFAULT 'draft',
    reject_reason    TEXT NOT NULL DEFAULT '',
    visibility       TEXT NOT NULL DEFAULT 'school',
    share_token      TEXT NOT NULL DEFAULT '',
    search_text      TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    submitted_at     BIGINT NOT NULL DEFAULT 0,
    reviewed_at      BIGINT NOT NULL DEFAULT 0,
    reviewer_id      TEXT NOT NULL DEFAULT ''
);
-- Newest first with the search text beside it: a substring search walks this narrow
-- index (newest first, stopping after a page of matches) instead of the wide rows, and
-- counts its matches from it alone.
CREATE INDEX lessons_created_search ON lessons (created_at, search_text);
CREATE INDEX lessons_state_created ON lessons (state, created_at);
CREATE INDEX lessons_subject_grade ON lessons (subject, grade, created_at);
CREATE INDEX lessons_school_created ON lessons (school_id, created_at);
CREATE INDEX lessons_teacher_created ON lessons (teacher_id, created_at);
CREATE INDEX lessons_title ON lessons (title);
CREATE INDEX lessons_asset ON lessons (asset_id);
CREATE INDEX lessons_state_submitted ON lessons (state, submitted_at);

-- A lesson's knowledge points, in the teacher's order.
CREATE TABLE lesson_knowledge_points (
    lesson_id TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    point     TEXT NOT NULL,
    sort      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (lesson_id, point)
);
CREATE INDEX lesson_knowledge_points_point ON lesson_knowledge_points (point);

-- The curriculum: the knowledge points of a subject and grade, in teaching order. The
-- coverage view lists these (and any other point a lesson is tagged with).
CREATE TABLE knowledge_points (
    subject TEXT NOT NULL,
    grade   TEXT NOT NULL,
    point   TEXT NOT NULL,
    sort    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, grade, point)
);

-- A micro-lecture: a clip [start_ms, end_ms) of a lesson about one knowledge point.
-- asset_id is the cut clip's media, empty until the cutting task has made it. Owner,
-- school and district are the lesson's.
CREATE TABLE micro_lectures (
    id              TEXT PRIMARY KEY,
    lesson_id       TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    asset_id        TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL,
    knowledge_point TEXT NOT NULL DEFAULT '',
    start_ms        BIGINT NOT NULL,
    end_ms          BIGINT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'draft',
    reject_reason   TEXT NOT NULL DEFAULT '',
    visibility      TEXT NOT NULL DEFAULT 'school',
    share_token     TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    submitted_at    BIGINT NOT NULL DEFAULT 0,
    reviewed_at     BIGINT NOT NULL DEFAULT 0,
    reviewer_id     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX micro_lectures_lesson ON micro_lectures (lesson_id, start_ms);
CREATE INDEX micro_lectures_point_state ON micro_lectures (knowledge_point, state);
CREATE INDEX micro_lectures_state_submitted ON micro_lectures (state, submitted_at);
CREATE INDEX micro_lectures_asset ON micro_lectures (asset_id);

-- WebVTT captions of a lesson, one per language; key is the object key in the store.
CREATE TABLE captions (
    lesson_id  TEXT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    lang       TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    object_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (lesson_id, lang)
);

-- +goose Down
DROP TABLE captions;
DROP TABLE micro_lectures;
DROP TABLE knowledge_points;
DROP TABLE lesson_knowledge_points;
DROP TABLE lessons;
