//! Versioned schema migrations, compiled into the binary. `PRAGMA user_version` holds the
//! version; `PRAGMA application_id` marks the file as a Smartimage library so we never
//! adopt some other SQLite database.

/// "SMIG" — identifies our database files.
pub const APPLICATION_ID: i32 = 0x534D_4947;

/// Each entry migrates from version `index` to `index + 1`, in one transaction.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13];

pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Times are unix seconds (UTC). Sizes are bytes. Names compare case-insensitively.
const V1: &str = r#"
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    plan        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE admins (
    id          INTEGER PRIMARY KEY,
    email       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name        TEXT    NOT NULL,
    os_user     TEXT,
    is_operator INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX admins_by_os_user ON admins(os_user) WHERE os_user IS NOT NULL;

CREATE TABLE memberships (
    admin   INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role    TEXT    NOT NULL CHECK (role IN ('owner', 'admin')),
    PRIMARY KEY (admin, account)
) WITHOUT ROWID;
CREATE INDEX memberships_by_account ON memberships(account);

CREATE TABLE delegations (
    account    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    admin      INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    granted_by INTEGER NOT NULL REFERENCES admins(id),
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (account, admin)
) WITHOUT ROWID;

CREATE TABLE dropbox_connections (
    id                 INTEGER PRIMARY KEY,
    dropbox_account_id TEXT    NOT NULL,
    email              TEXT,
    backend            TEXT    NOT NULL CHECK (backend IN ('api', 'local')),
    token_ref          TEXT,
    root_path          TEXT,
    authorized_by      INTEGER REFERENCES admins(id),
    created_at         INTEGER NOT NULL,
    UNIQUE (backend, dropbox_account_id)
);

CREATE TABLE links (
    id            INTEGER PRIMARY KEY,
    account       INTEGER NOT NULL REFERENCES accounts(id),
    connection    INTEGER NOT NULL REFERENCES dropbox_connections(id),
    folder_path   TEXT    NOT NULL,
    authorized_by INTEGER REFERENCES admins(id),
    cursor        TEXT,
    state         TEXT    NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'paused', 'needs_reauth', 'error', 'unlinked')),
    state_detail  TEXT,
    created_at    INTEGER NOT NULL
);
-- One live link per account; an unlinked row stays for the history of its files.
CREATE UNIQUE INDEX links_live_by_account ON links(account) WHERE state <> 'unlinked';

CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    account      INTEGER NOT NULL REFERENCES accounts(id),
    name         TEXT    NOT NULL,
    size         INTEGER NOT NULL CHECK (size >= 0),
    kind         TEXT    NOT NULL,
    format       TEXT    NOT NULL,
    mime         TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('dropbox', 'upload')),
    uploaded_by  INTEGER REFERENCES admins(id),
    imported_at  INTEGER NOT NULL,
    video_month  TEXT,
    dropbox_link INTEGER REFERENCES links(id),
    dropbox_path TEXT,
    dropbox_id   TEXT,
    dropbox_rev  TEXT,
    content_hash TEXT,
    -- A replayed import of the same Dropbox revision can never create a second row.
    UNIQUE (dropbox_link, dropbox_id, dropbox_rev)
);
CREATE INDEX files_by_name     ON files(account, name COLLATE NOCASE, id);
CREATE INDEX files_by_imported ON files(account, imported_at, id);
CREATE INDEX files_by_size     ON files(account, size, id);
CREATE INDEX files_by_kind     ON files(account, kind, id);
CREATE INDEX files_by_source   ON files(account, source, id);
CREATE INDEX files_by_sha256   ON files(sha256);

-- Running totals kept by triggers, so admission never sums a million rows.
CREATE TABLE storage_usage (
    account INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    bytes   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE video_usage (
    account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    month   TEXT    NOT NULL,
    bytes   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, month)
) WITHOUT ROWID;

CREATE TRIGGER files_storage_insert AFTER INSERT ON files BEGIN
    UPDATE storage_usage SET bytes = bytes + NEW.size WHERE account = NEW.account;
END;
CREATE TRIGGER files_video_insert AFTER INSERT ON files WHEN NEW.video_month IS NOT NULL BEGIN
    INSERT INTO video_usage(account, month, bytes) VALUES (NEW.account, NEW.video_month, NEW.size)
        ON CONFLICT(account, month) DO UPDATE SET bytes = bytes + NEW.size;
END;
CREATE TRIGGER files_storage_delete AFTER DELETE ON files BEGIN
    UPDATE storage_usage SET bytes = bytes - OLD.size WHERE account = OLD.account;
END;
CREATE TRIGGER files_video_delete AFTER DELETE ON files WHEN OLD.video_month IS NOT NULL BEGIN
    UPDATE video_usage SET bytes = bytes - OLD.size
        WHERE account = OLD.account AND month = OLD.video_month;
END;

-- Quota held by admissions in flight, so concurrent imports cannot overshoot a limit.
CREATE TABLE reservations (
    id            INTEGER PRIMARY KEY,
    account       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    storage_bytes INTEGER NOT NULL,
    video_bytes   INTEGER NOT NULL,
    video_month   TEXT    NOT NULL,
    purpose       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX reservations_by_account ON reservations(account);

CREATE TABLE collections (
    id         INTEGER PRIMARY KEY,
    account    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL COLLATE NOCASE,
    created_by INTEGER REFERENCES admins(id),
    created_at INTEGER NOT NULL,
    UNIQUE (account, name)
);

CREATE TABLE collection_files (
    collection INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    file       INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    added_by   INTEGER REFERENCES admins(id),
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (collection, file)
) WITHOUT ROWID;
CREATE INDEX collection_files_by_file ON collection_files(file, collection);

-- The durable queue/journal of the import engine; crash recovery reads it.
CREATE TABLE import_items (
    id           INTEGER PRIMARY KEY,
    link         INTEGER NOT NULL REFERENCES links(id),
    dropbox_id   TEXT    NOT NULL,
    rev          TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    content_hash TEXT,
    state        TEXT    NOT NULL,
    error_kind   TEXT,
    error_detail TEXT,
    format       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    file         INTEGER REFERENCES files(id),
    reservation  INTEGER,
    report       INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (link, dropbox_id, rev)
);
CREATE INDEX import_items_by_state ON import_items(state, link);

CREATE TABLE reports (
    id           INTEGER PRIMARY KEY,
    link         INTEGER NOT NULL REFERENCES links(id),
    dropbox_path TEXT    NOT NULL,
    dropbox_id   TEXT,
    rev          TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       INTEGER REFERENCES admins(id),
    actor_email TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    account     INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    target      TEXT    NOT NULL,
    detail      TEXT
);
CREATE INDEX audit_by_account ON audit(account, at);
"#;

/// All Files at a million rows: a sort index for every (scope, source) the pane asks for, so a
/// page is an index range read whatever the sort; and a trigram index of names so a substring
/// filter reads only candidate rows. `detail=none` keeps it small: queries AND the trigrams of
/// the needle and the exact (Unicode, case-folded) check runs on the candidates.
const V2: &str = r#"
DROP INDEX files_by_source;
CREATE INDEX files_by_account_source_name     ON files(account, source, name COLLATE NOCASE, id);
CREATE INDEX files_by_account_source_imported ON files(account, source, imported_at, id);
CREATE INDEX files_by_account_source_size     ON files(account, source, size, id);
CREATE INDEX files_by_account_source_kind     ON files(account, source, kind, id);
CREATE INDEX files_all_by_name                ON files(name COLLATE NOCASE, id);
CREATE INDEX files_all_by_imported            ON files(imported_at, id);
CREATE INDEX files_all_by_size                ON files(size, id);
CREATE INDEX files_all_by_kind                ON files(kind, id);
CREATE INDEX files_all_by_source_name         ON files(source, name COLLATE NOCASE, id);
CREATE INDEX files_all_by_source_imported     ON files(source, imported_at, id);
CREATE INDEX files_all_by_source_size         ON files(source, size, id);
CREATE INDEX files_all_by_source_kind         ON files(source, kind, id);

CREATE VIRTUAL TABLE file_names USING fts5(
    name, content='files', content_rowid='id', tokenize='trigram', detail='none'
);
INSERT INTO file_names(file_names) VALUES ('rebuild');
CREATE TRIGGER file_names_insert AFTER INSERT ON files BEGIN
    INSERT INTO file_names(rowid, name) VALUES (NEW.id, NEW.name);
END;
CREATE TRIGGER file_names_delete AFTER DELETE ON files BEGIN
    INSERT INTO file_names(file_names, rowid, name) VALUES ('delete', OLD.id, OLD.name);
END;
CREATE TRIGGER file_names_rename AFTER UPDATE OF name ON files BEGIN
    INSERT INTO file_names(file_names, rowid, name) VALUES ('delete', OLD.id, OLD.name);
    INSERT INTO file_names(rowid, name) VALUES (NEW.id, NEW.name);
END;
"#;

/// Bulk inserts: a row reaches the trigram index at the end of its transaction, in one
/// statement, not from a trigger per row. FTS5 writes its pending terms to disk at every
/// statement savepoint of a transaction that touched it, so a trigger per insert made it write
/// tiny segments (and merge them) once per row: 100,000 rows went in at 22,900 rows/s, and at
/// 35,800 rows/s this way. [`super::Store::transaction`] runs [`INDEX_PENDING_NAMES`] before
/// every commit. A delete or rename of a row still pending touches only the pending list (the
/// trigram index never saw it; an external-content FTS5 index must not be told to delete what
/// it does not hold).
const V3: &str = r#"
DROP TRIGGER file_names_insert;
DROP TRIGGER file_names_delete;
DROP TRIGGER file_names_rename;
CREATE TABLE file_names_pending (id INTEGER PRIMARY KEY);
CREATE TRIGGER file_names_insert AFTER INSERT ON files BEGIN
    INSERT INTO file_names_pending(id) VALUES (NEW.id);
END;
CREATE TRIGGER file_names_delete AFTER DELETE ON files BEGIN
    INSERT INTO file_names(file_names, rowid, name)
        SELECT 'delete', OLD.id, OLD.name
        WHERE NOT EXISTS (SELECT 1 FROM file_names_pending WHERE id = OLD.id);
    DELETE FROM file_names_pending WHERE id = OLD.id;
END;
CREATE TRIGGER file_names_rename AFTER UPDATE OF name ON files
WHEN NOT EXISTS (SELECT 1 FROM file_names_pending WHERE id = OLD.id) BEGIN
    INSERT INTO file_names(file_names, rowid, name) VALUES ('delete', OLD.id, OLD.name);
    INSERT INTO file_names(rowid, name) VALUES (NEW.id, NEW.name);
END;
"#;

/// Inserting a file row runs no trigger: [`super::files::insert_file`] adds the row's bytes to
/// the running totals and lists it for the trigram index itself. Any trigger on `files` makes
/// SQLite open a statement journal for every insert and copy each page the row touches (about
/// twenty B-tree pages) into it before changing it, in case the trigger fails half-way; that
/// copying and its allocations were over a quarter of a bulk insert's time. The delete and
/// rename triggers stay: those paths are rare and keep their totals exact on their own.
const V4: &str = r#"
DROP TRIGGER files_storage_insert;
DROP TRIGGER files_video_insert;
DROP TRIGGER file_names_insert;
"#;

/// Running totals of the quota held by reservations, so an admission reads two rows instead of
/// summing every reservation in flight: an import admits files while thousands it admitted
/// earlier still hold theirs, and the sums were 12 % of the CPU of a 10,000-file import.
/// Triggers keep them, so every way a reservation goes (release, crash recovery, an account's
/// cascade) is counted.
const V5: &str = r#"
CREATE TABLE reserved_storage (
    account INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    bytes   INTEGER NOT NULL
);
CREATE TABLE reserved_video (
    account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    month   TEXT    NOT NULL,
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (account, month)
) WITHOUT ROWID;
INSERT INTO reserved_storage(account, bytes)
    SELECT account, sum(storage_bytes) FROM reservations GROUP BY account;
INSERT INTO reserved_video(account, month, bytes)
    SELECT account, video_month, sum(video_bytes) FROM reservations GROUP BY account, video_month;
CREATE TRIGGER reservations_insert AFTER INSERT ON reservations BEGIN
    INSERT INTO reserved_storage(account, bytes) VALUES (NEW.account, NEW.storage_bytes)
        ON CONFLICT(account) DO UPDATE SET bytes = bytes + excluded.bytes;
    INSERT INTO reserved_video(account, month, bytes)
        VALUES (NEW.account, NEW.video_month, NEW.video_bytes)
        ON CONFLICT(account, month) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER reservations_delete AFTER DELETE ON reservations BEGIN
    UPDATE reserved_storage SET bytes = bytes - OLD.storage_bytes WHERE account = OLD.account;
    UPDATE reserved_video SET bytes = bytes - OLD.video_bytes
        WHERE account = OLD.account AND month = OLD.video_month;
END;
-- A reservation is inserted and deleted, never changed: the totals above count on it.
CREATE TRIGGER reservations_are_not_updated BEFORE UPDATE ON reservations BEGIN
    SELECT RAISE(ABORT, 'a quota reservation is never changed: release it and reserve anew');
END;
"#;

/// The blob table and the library's identity (RELIABILITY.md, "Garbage collection"). A blob is
/// *pinned* while a writer has it on the way in, *live* while a file row references it, and
/// *released* once neither holds: only released blobs are ever deleted, and a blob on disk this
/// table never heard of (a restored or replaced database) is kept for `check --adopt`. Inserts
/// keep the table in `files::insert_file` (no insert trigger, see V4); a deleted file row
/// releases its blob through a trigger, as the other delete paths keep their totals.
const V6: &str = r#"
CREATE TABLE library_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE blobs (
    sha256     TEXT    PRIMARY KEY,
    size       INTEGER NOT NULL CHECK (size >= 0),
    state      TEXT    NOT NULL CHECK (state IN ('pinned', 'live', 'released')),
    pins       INTEGER NOT NULL DEFAULT 0 CHECK (pins >= 0),
    changed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_not_live ON blobs(state) WHERE state <> 'live';
-- Crash recovery reads the pins left behind without scanning a million live blobs.
CREATE INDEX blobs_pinned ON blobs(pins) WHERE pins > 0;
INSERT INTO blobs(sha256, size, state, pins, changed_at)
    SELECT sha256, max(size), 'live', 0, CAST(strftime('%s', 'now') AS INTEGER)
    FROM files GROUP BY sha256;
CREATE TRIGGER files_delete_releases_blob AFTER DELETE ON files
    WHEN NOT EXISTS (SELECT 1 FROM files WHERE sha256 = OLD.sha256)
BEGIN
    UPDATE blobs SET state = CASE WHEN pins > 0 THEN 'pinned' ELSE 'released' END,
                     changed_at = CAST(strftime('%s', 'now') AS INTEGER)
        WHERE sha256 = OLD.sha256;
END;
"#;

/// The registry of live processes (`processes.rs`): a reservation names its holder, so the
/// quota a killed or hung-up process held is freed by whoever next needs it, not only at the
/// next engine start. Reservations made before this have no holder and keep the old rules.
const V7: &str = r#"
CREATE TABLE processes (
    id            INTEGER PRIMARY KEY,
    host          TEXT    NOT NULL,
    boot_id       TEXT    NOT NULL,
    pid           INTEGER NOT NULL,
    started       INTEGER NOT NULL,
    role          TEXT    NOT NULL,
    os_user       TEXT    NOT NULL,
    registered_at INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL
);
ALTER TABLE reservations ADD COLUMN holder INTEGER REFERENCES processes(id) ON DELETE CASCADE;
CREATE INDEX reservations_by_holder ON reservations(holder) WHERE holder IS NOT NULL;
"#;

/// Failed tries are retried across passes (`import::retry_policy`). Two journal states join
/// the others (`state` is free text): `retrying` — a transient Dropbox failure not yet
/// persistent, or a fault of our own server; tried again from `next_attempt_at` — and
/// `queued_for_retry` — an admin asked for a retry, from any process; the engine that runs
/// takes it at its next tick. `failed` keeps its meaning: a verdict or a persistent failure,
/// what the customer is told. The counters say how many tries ended in which kind of fault.
const V8: &str = r#"
ALTER TABLE import_items ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE import_items ADD COLUMN transient_tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_items ADD COLUMN first_transient_at INTEGER;
ALTER TABLE import_items ADD COLUMN server_faults INTEGER NOT NULL DEFAULT 0;
"#;

/// The store is where engines and consoles meet (ARCHITECTURE.md, "Engines and consoles"):
/// each running (or standby) engine publishes a status row beside its process row; every state
/// change of the import journal, of a link and of a customer report appends to `engine_events`
/// through a trigger, so the event is written in the same transaction as the change it reports
/// and no process can change state without it being told; commands to whichever engine runs
/// are durable rows. Times here are unix milliseconds. The log keeps the newest
/// `EVENT_LOG_KEEP` rows (trimmed every 1,024 inserts).
const V9: &str = r#"
CREATE TABLE engine_status (
    process    INTEGER PRIMARY KEY REFERENCES processes(id) ON DELETE CASCADE,
    mode       TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('running', 'standby', 'stopping')),
    links      TEXT    NOT NULL DEFAULT '[]',
    in_flight  TEXT    NOT NULL DEFAULT '[]',
    rate_bps   INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE engine_events (
    seq    INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    kind   TEXT    NOT NULL,
    link   INTEGER,
    item   INTEGER,
    detail TEXT
);
CREATE TRIGGER engine_events_trim AFTER INSERT ON engine_events WHEN NEW.seq % 1024 = 0
BEGIN
    DELETE FROM engine_events WHERE seq <= NEW.seq - 200000;
END;
-- Files (and bytes) that reached each journal state, per UTC day and link: today's totals
-- without scanning the journal, exact however long the event log is.
CREATE TABLE import_days (
    day   INTEGER NOT NULL,
    link  INTEGER NOT NULL,
    state TEXT    NOT NULL,
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (day, link, state)
) WITHOUT ROWID;
CREATE TRIGGER import_items_found AFTER INSERT ON import_items
BEGIN
    INSERT INTO engine_events(at_ms, kind, link, item)
        VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), 'item:' || NEW.state, NEW.link, NEW.id);
    INSERT INTO import_days(day, link, state, files, bytes)
        VALUES (unixepoch() / 86400, NEW.link, NEW.state, 1, NEW.size)
        ON CONFLICT(day, link, state) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER import_items_moved AFTER UPDATE OF state ON import_items
    WHEN NEW.state IS NOT OLD.state
BEGIN
    INSERT INTO engine_events(at_ms, kind, link, item, detail)
        VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), 'item:' || NEW.state, NEW.link, NEW.id,
                NEW.error_detail);
    INSERT INTO import_days(day, link, state, files, bytes)
        VALUES (unixepoch() / 86400, NEW.link, NEW.state, 1, NEW.size)
        ON CONFLICT(day, link, state) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER links_moved AFTER UPDATE OF state ON links
    WHEN NEW.state IS NOT OLD.state
BEGIN
    INSERT INTO engine_events(at_ms, kind, link, detail)
        VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), 'link:' || NEW.state, NEW.id,
                NEW.state_detail);
END;
CREATE TRIGGER reports_written AFTER UPDATE OF rev ON reports
    WHEN NEW.rev IS NOT NULL AND NEW.rev IS NOT OLD.rev
BEGIN
    INSERT INTO engine_events(at_ms, kind, link, item, detail)
        VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), 'report:written', NEW.link, NEW.id,
                NEW.dropbox_path);
END;
CREATE TRIGGER reports_removed AFTER DELETE ON reports WHEN OLD.rev IS NOT NULL
BEGIN
    INSERT INTO engine_events(at_ms, kind, link, item, detail)
        VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), 'report:removed', OLD.link, OLD.id,
                OLD.dropbox_path);
END;
CREATE TABLE engine_commands (
    id       INTEGER PRIMARY KEY,
    at_ms    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('scan', 'pass', 'retry', 'stop')),
    link     INTEGER,
    state    TEXT    NOT NULL DEFAULT 'pending'
             CHECK (state IN ('pending', 'taken', 'done', 'failed')),
    taken_by INTEGER,
    done_ms  INTEGER,
    outcome  TEXT
);
CREATE INDEX engine_commands_open ON engine_commands(state) WHERE state IN ('pending', 'taken');
"#;

/// Notifications (issue #23): the outbox, one row per delivery (an email to one address, or
/// one webhook POST) with a stable id, claimed by the sender that sends it; marks of what was
/// told once (a plan crossing per month, a digest's time); who turned notifications off.
const V10: &str = r#"
ALTER TABLE admins ADD COLUMN notify_email INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN notify INTEGER NOT NULL DEFAULT 1;
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    event_id      TEXT    NOT NULL,
    message_id    TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    account       INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    channel       TEXT    NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient     TEXT,
    subject       TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL,
    not_before_ms INTEGER NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    claim_host    TEXT,
    claim_boot    TEXT,
    claim_pid     INTEGER,
    claim_started INTEGER,
    claimed_ms    INTEGER,
    sent_ms       INTEGER,
    last_error    TEXT
);
CREATE INDEX outbox_due ON outbox(state, not_before_ms) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_by_account ON outbox(account, kind, created_ms);
CREATE TABLE notify_marks (
    mark  TEXT    PRIMARY KEY,
    at_ms INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// File metadata (`library::metadata`, `store/file_metadata.rs`): one row per file whose bytes
/// were read for it, whatever came of it (`outcome`), so a file is read once — at import, or by
/// the engine's idle fill-in for files imported before this (those without a row). Capture
/// times are text as the camera wrote them (`YYYY-MM-DDTHH:MM:SS`, an offset or `Z` when
/// known), so they sort as the photographer counts days. The row goes with its file.
const V11: &str = r#"
CREATE TABLE file_metadata (
    file         INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    outcome      TEXT    NOT NULL CHECK (outcome IN
                     ('read', 'nothing', 'unreadable', 'too_large', 'timed_out', 'missing')),
    extracted_at INTEGER NOT NULL,
    width        INTEGER,
    height       INTEGER,
    orientation  INTEGER,
    taken_at     TEXT,
    camera_make  TEXT,
    camera_model TEXT,
    lens         TEXT,
    has_gps      INTEGER,
    gps_lat      REAL,
    gps_lon      REAL,
    duration_ms  INTEGER,
    video_codec  TEXT,
    pages        INTEGER
);
CREATE INDEX file_metadata_by_taken ON file_metadata(taken_at, file) WHERE taken_at IS NOT NULL;
"#;

/// Trash, import batches and duplicates (issue #22). A file in the trash keeps its row, its
/// blob and its collections (so a restore is one UPDATE) and still counts against storage;
/// only a purge deletes the row, and the V1/V6 delete triggers then free the quota and release
/// the blob through the blob table. Every All Files sort index becomes partial — live files
/// only — so a listing that leaves the trash out reads exactly the index ranges it read before;
/// the trash has an index of its own, which its listings, counts and purges read. The journal
/// gets an index on `file`: a purge clears the journal's references to the rows it deletes
/// (the foreign key would refuse the delete), and SQLite checks the journal for each deleted
/// row. Every import pass that commits something and every upload is a batch
/// (`import_batches`); `import undo` trashes a batch's files in one step.
const V12: &str = r#"
ALTER TABLE files ADD COLUMN trashed_at INTEGER;
ALTER TABLE files ADD COLUMN trashed_by INTEGER REFERENCES admins(id);
CREATE TABLE import_batches (
    id         INTEGER PRIMARY KEY,
    account    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    source     TEXT    NOT NULL CHECK (source IN ('dropbox', 'upload')),
    link       INTEGER REFERENCES links(id),
    started_by INTEGER REFERENCES admins(id),
    started_at INTEGER NOT NULL
);
CREATE INDEX import_batches_by_account ON import_batches(account, id);
ALTER TABLE files ADD COLUMN batch INTEGER REFERENCES import_batches(id);
CREATE INDEX files_by_batch ON files(batch) WHERE batch IS NOT NULL;
CREATE INDEX files_trashed ON files(account, trashed_at, id) WHERE trashed_at IS NOT NULL;
CREATE INDEX import_items_by_file ON import_items(file) WHERE file IS NOT NULL;
DROP INDEX files_by_imported;
CREATE INDEX files_by_imported ON files(account, imported_at, id) WHERE trashed_at IS NULL;
DROP INDEX files_by_account_source_imported;
CREATE INDEX files_by_account_source_imported ON files(account, source, imported_at, id) WHERE trashed_at IS NULL;
DROP INDEX files_all_by_imported;
CREATE INDEX files_all_by_imported ON files(imported_at, id) WHERE trashed_at IS NULL;
DROP INDEX files_all_by_source_imported;
CREATE INDEX files_all_by_source_imported ON files(source, imported_at, id) WHERE trashed_at IS NULL;
DROP INDEX files_by_name;
CREATE INDEX files_by_name ON files(account, name COLLATE NOCASE, id) WHERE trashed_at IS NULL;
DROP INDEX files_by_account_source_name;
CREATE INDEX files_by_account_source_name ON files(account, source, name COLLATE NOCASE, id) WHERE trashed_at IS NULL;
DROP INDEX files_all_by_name;
CREATE INDEX files_all_by_name ON files(name COLLATE NOCASE, id) WHERE trashed_at IS NULL;
DROP INDEX files_all_by_source_name;
CREATE INDEX files_all_by_source_name ON files(source, name COLLATE NOCASE, id) WHERE trashed_at IS NULL;
DROP INDEX files_by_size;
CREATE INDEX files_by_size ON files(account, size, id) WHERE trashed_at IS NULL;
DROP INDEX files_by_account_source_size;
CREATE INDEX files_by_account_source_size ON files(account, source, size, id) WHERE trashed_at IS NULL;
DROP INDEX files_all_by_size;
CREATE INDEX files_all_by_size ON files(size, id) WHERE trashed_at IS NULL;
DROP INDEX files_all_by_source_size;
CREATE INDEX files_all_by_source_size ON files(source, size, id) WHERE trashed_at IS NULL;
DROP INDEX files_by_kind;
CREATE INDEX files_by_kind ON files(account, kind, id) WHERE trashed_at IS NULL;
DROP INDEX files_by_account_source_kind;
CREATE INDEX files_by_account_source_kind ON files(account, source, kind, id) WHERE trashed_at IS NULL;
DROP INDEX files_all_by_kind;
CREATE INDEX files_all_by_kind ON files(kind, id) WHERE trashed_at IS NULL;
DROP INDEX files_all_by_source_kind;
CREATE INDEX files_all_by_source_kind ON files(source, kind, id) WHERE trashed_at IS NULL;
"#;

/// Capture time and camera on the files row (issue #22), so All Files sorts by when a photo was
/// taken and filters by camera and date off indexes, at a million files as at ten. `taken` is
/// the capture time as the camera's clock wrote it (`YYYY-MM-DDTHH:MM:SS`, no zone: "the 12th"
/// is the photographer's 12th), `NULL` when the file has none; `camera` is make and model.
/// `taken_sort` is the sort key: the capture time, or the import time (UTC, same format) for a
/// file that has none, so every file has a place in the list and no key is `NULL`. The store
/// keeps `taken_sort = taken` whenever `taken` is set (`file_metadata::record`), which lets a
/// date range seek on the sort index. Sort indexes are partial (live files only), as in V12.
const V13: &str = r#"
ALTER TABLE files ADD COLUMN taken TEXT;
ALTER TABLE files ADD COLUMN camera TEXT;
ALTER TABLE files ADD COLUMN taken_sort TEXT NOT NULL DEFAULT '';
UPDATE files SET taken_sort = strftime('%Y-%m-%dT%H:%M:%S', imported_at, 'unixepoch');
UPDATE files SET
    taken = (SELECT substr(m.taken_at, 1, 19) FROM file_metadata m
              WHERE m.file = files.id AND length(m.taken_at) >= 19),
    camera = (SELECT nullif(CASE
                    WHEN coalesce(trim(m.camera_make), '') = '' THEN trim(coalesce(m.camera_model, ''))
                    WHEN lower(substr(trim(coalesce(m.camera_model, '')), 1, length(trim(m.camera_make))))
                         = lower(trim(m.camera_make))
                        THEN trim(m.camera_model)
                    WHEN coalesce(trim(m.camera_model), '') = '' THEN trim(m.camera_make)
                    ELSE trim(m.camera_make) || ' ' || trim(m.camera_model) END, '')
                FROM file_metadata m WHERE m.file = files.id)
 WHERE id IN (SELECT file FROM file_metadata);
UPDATE files SET taken_sort = taken WHERE taken IS NOT NULL;
CREATE INDEX files_by_taken ON files(account, taken_sort, id) WHERE trashed_at IS NULL;
CREATE INDEX files_by_account_source_taken ON files(account, source, taken_sort, id) WHERE trashed_at IS NULL;
CREATE INDEX files_all_by_taken ON files(taken_sort, id) WHERE trashed_at IS NULL;
CREATE INDEX files_all_by_source_taken ON files(source, taken_sort, id) WHERE trashed_at IS NULL;
CREATE INDEX files_by_camera ON files(account, camera COLLATE NOCASE, id) WHERE trashed_at IS NULL AND camera IS NOT NULL;
CREATE INDEX files_all_by_camera ON files(camera COLLATE NOCASE, id) WHERE trashed_at IS NULL AND camera IS NOT NULL;
"#;

/// The schema version whose migration widens `files.source` (see [`widen_file_sources`]).
pub const WIDEN_SOURCES_AT: i64 = 6;

/// `files.source` gains `recovered` (files `check --adopt` brings back). SQLite cannot alter a
/// CHECK constraint; rewriting the table would copy every row of a million-file library, so
/// the constraint's text is widened in place, the procedure SQLite documents for loosening a
/// constraint (every existing row satisfies the wider one). The schema cookie is bumped so
/// every connection re-reads it.
pub fn widen_file_sources(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let cookie: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.execute_batch("PRAGMA writable_schema = ON")?;
    let changed = tx.execute(
        "UPDATE sqlite_schema
            SET sql = replace(sql, 'CHECK (source IN (''dropbox'', ''upload''))',
                                   'CHECK (source IN (''dropbox'', ''upload'', ''recovered''))')
          WHERE type = 'table' AND name = 'files'",
        [],
    );
    tx.execute_batch("PRAGMA writable_schema = OFF")?;
    if changed? != 1 {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some("the files table's source constraint is not the one V1 made".into()),
        ));
    }
    tx.pragma_update(None, "schema_version", cookie + 1)?;
    Ok(())
}

/// Moves the names of rows inserted in this transaction into the trigram index (see V3).
pub const INDEX_PENDING_NAMES: &str = "
INSERT INTO file_names(rowid, name)
    SELECT f.id, f.name FROM file_names_pending p JOIN files f ON f.id = p.id;
DELETE FROM file_names_pending;
";
