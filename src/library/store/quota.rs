//! Quota: what an account uses (running totals plus reservations in flight) and atomic
//! reservation of storage and video allowance for an admitted file.

use super::cached::CachedStatements;
use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::processes::{self, ProcessId};
use crate::library::formats::Detection;
use crate::library::model::AccountId;
use crate::library::policy::{self, Admission, AdmitError, ErrorKind, Plan, Usage};

pub use crate::library::ids::ReservationId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub id: ReservationId,
    pub account: AccountId,
    pub admission: Admission,
}

#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error(transparent)]
    Refused(#[from] AdmitError),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The calendar month (UTC) a video counts against, as `YYYY-MM`.
pub fn video_month_key(now: OffsetDateTime) -> String {
    let (start, _) = policy::video_month_bounds(now);
    format!("{:04}-{:02}", start.year(), u8::from(start.month()))
}

/// Bytes used plus bytes reserved, for storage and for this month's videos.
pub fn usage(c: &Connection, account: AccountId, now: OffsetDateTime) -> rusqlite::Result<Usage> {
    let month = video_month_key(now);
    let (storage, video): (i64, i64) = c.query_row_cached(
        "SELECT
            coalesce((SELECT bytes FROM storage_usage WHERE account = ?1), 0)
              + coalesce((SELECT bytes FROM reserved_storage WHERE account = ?1), 0),
            coalesce((SELECT bytes FROM video_usage WHERE account = ?1 AND month = ?2), 0)
              + coalesce((SELECT bytes FROM reserved_video WHERE account = ?1 AND month = ?2), 0)",
        params![account, month],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Usage {
        storage_bytes: storage.max(0) as u64,
        video_bytes_this_month: video.max(0) as u64,
    })
}

/// Bytes actually stored (no reservations): what dashboards show.
pub fn stored(c: &Connection, account: AccountId, now: OffsetDateTime) -> rusqlite::Result<Usage> {
    let month = video_month_key(now);
    let (storage, video): (i64, i64) = c.query_row_cached(
        "SELECT coalesce((SELECT bytes FROM storage_usage WHERE account = ?1), 0),
                coalesce((SELECT bytes FROM video_usage WHERE account = ?1 AND month = ?2), 0)",
        params![account, month],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Usage {
        storage_bytes: storage.max(0) as u64,
        video_bytes_this_month: video.max(0) as u64,
    })
}

/// Admit a file and hold its quota. Call inside an IMMEDIATE transaction (`Store::reserve`
/// does): the read of usage and the insert of the reservation must not interleave with
/// another admission, or two files could each see room that only one of them fits.
#[allow(clippy::too_many_arguments)]
pub fn reserve(
    c: &Connection,
    account: AccountId,
    plan: &Plan,
    name: &str,
    size: u64,
    detection: &Detection,
    now: OffsetDateTime,
    purpose: &str,
    holder: Option<ProcessId>,
) -> Result<Reservation, ReserveError> {
    let current = usage(c, account, now)?;
    let admission = match policy::admit(plan, current, name, size, detection, now) {
        Ok(admission) => admission,
        // Before a file is refused for quota, the quota dead processes still hold is freed:
        // a killed upload never makes a live engine report a false storage limit.
        Err(refusal)
            if matches!(
                refusal.kind(),
                ErrorKind::StorageLimit | ErrorKind::VideoAllotment
            ) && processes::release_dead(c, now.unix_timestamp())? > 0 =>
        {
            policy::admit(plan, usage(c, account, now)?, name, size, detection, now)?
        }
        Err(refusal) => return Err(refusal.into()),
    };
    c.execute_cached(
        "INSERT INTO reservations(account, storage_bytes, video_bytes, video_month, purpose,
                                  created_at, holder)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            account,
            admission.storage_bytes as i64,
            admission.video_bytes as i64,
            video_month_key(now),
            purpose,
            now.unix_timestamp(),
            holder
        ],
    )?;
    Ok(Reservation {
        id: ReservationId(c.last_insert_rowid()),
        account,
        admission,
    })
}

pub fn release(c: &Connection, id: ReservationId) -> rusqlite::Result<bool> {
    Ok(c.execute_cached("DELETE FROM reservations WHERE id = ?1", [id])? > 0)
}

/// Crash recovery: reservations of a process that died hold quota nobody will use.
pub fn release_all(c: &Connection) -> rusqlite::Result<usize> {
    c.execute_cached("DELETE FROM reservations", [])
}

/// Crash recovery for one kind of holder (e.g. the import engine's own `import`
/// reservations, which only the single engine of a data dir makes).
pub fn release_purpose(c: &Connection, purpose: &str) -> rusqlite::Result<usize> {
    c.execute_cached("DELETE FROM reservations WHERE purpose = ?1", [purpose])
}

/// Crash recovery for reservations made before holders were recorded (migration V7): those of
/// `purpose` without a holder. A held reservation goes when its holder is found dead
/// (`processes::release_dead`).
pub fn release_unheld_purpose(c: &Connection, purpose: &str) -> rusqlite::Result<usize> {
    c.execute_cached(
        "DELETE FROM reservations WHERE purpose = ?1 AND holder IS NULL",
        [purpose],
    )
}

/// Crash recovery for holders in other processes (direct uploads): a reservation this old
/// belongs to a process that died; a live upload commits or releases long before.
pub fn release_older_than(c: &Connection, created_before: i64) -> rusqlite::Result<usize> {
    c.execute_cached(
        "DELETE FROM reservations WHERE created_at < ?1",
        [created_before],
    )
}
