//! The library's identity and epoch, kept in `library_meta` (migration V6). The blob store
//! carries the same pair (`blobs::identity`): a database that is not the blob store's (a new
//! one made by `init`, one from elsewhere) or is older than it (restored from a backup) is
//! caught before anything is collected. The epoch moves forward at every engine start and
//! every `backup`, so a restored backup is older than the blob store that outlived it.

use rusqlite::{OptionalExtension, Transaction, params};

const ID_KEY: &str = "library_id";
const EPOCH_KEY: &str = "epoch";
/// Random bytes in a library id (written as hex).
const ID_BYTES: usize = 16;

/// Who this database is and how far it has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryIdentity {
    pub library_id: String,
    pub epoch: u64,
}

/// Gives a database its identity the first time it is opened at V6 or later.
pub fn ensure(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    if read_value(tx, ID_KEY)?.is_some() {
        return Ok(());
    }
    let mut bytes = [0u8; ID_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        rusqlite::Error::UserFunctionError(format!("no random bytes for a library id: {e}").into())
    })?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_value(tx, ID_KEY, &id)?;
    write_value(tx, EPOCH_KEY, "1")?;
    Ok(())
}

pub fn read(c: &rusqlite::Connection) -> rusqlite::Result<LibraryIdentity> {
    let library_id = read_value(c, ID_KEY)?.unwrap_or_default();
    let epoch = read_value(c, EPOCH_KEY)?
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    Ok(LibraryIdentity { library_id, epoch })
}

/// Moves the epoch forward by one; returns the new identity.
pub fn advance_epoch(tx: &Transaction<'_>) -> rusqlite::Result<LibraryIdentity> {
    let current = read(tx)?;
    set_epoch(tx, current.epoch + 1)?;
    Ok(LibraryIdentity {
        epoch: current.epoch + 1,
        ..current
    })
}

pub fn set_epoch(tx: &Transaction<'_>, epoch: u64) -> rusqlite::Result<()> {
    write_value(tx, EPOCH_KEY, &epoch.to_string())
}

fn read_value(c: &rusqlite::Connection, key: &str) -> rusqlite::Result<Option<String>> {
    c.query_row(
        "SELECT value FROM library_meta WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()
}

fn write_value(tx: &Transaction<'_>, key: &str, value: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO library_meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
