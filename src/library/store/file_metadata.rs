//! The `file_metadata` table (migration V11): what extraction read from each file, and that it
//! was read.

use rusqlite::{Connection, OptionalExtension, params};

use crate::library::metadata::{Extracted, FileMetadata, Outcome};
use crate::library::model::FileId;
use crate::library::store::cached::CachedStatements;

/// Record what was read from `file` (again: a later read replaces it). A file deleted
/// meanwhile gets no row.
pub fn record(
    c: &Connection,
    file: FileId,
    extracted: &Extracted,
    at: i64,
) -> rusqlite::Result<()> {
    let m = &extracted.metadata;
    // Cached: a batch of thousands of files records one row each.
    c.execute_cached(
        "INSERT OR REPLACE INTO file_metadata(file, outcome, extracted_at, width, height,
             orientation, taken_at, camera_make, camera_model, lens, has_gps, gps_lat, gps_lon,
             duration_ms, video_codec, pages)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16
          WHERE EXISTS (SELECT 1 FROM files WHERE id = ?1)",
        params![
            file,
            extracted.outcome.as_str(),
            at,
            m.width,
            m.height,
            m.orientation,
            m.taken_at,
            m.camera_make,
            m.camera_model,
            m.lens,
            m.has_gps,
            m.gps.map(|g| g.0),
            m.gps.map(|g| g.1),
            m.duration_ms.and_then(|d| i64::try_from(d).ok()),
            m.video_codec,
            m.pages,
        ],
    )?;
    // What All Files sorts and filters by lives on the files row (migration V13); the sort key
    // falls back to the import time when the file says nothing. A row that already says this
    // (most files: nothing) is not written, so its sort indexes are not touched.
    c.execute_cached(&SET_ON_FILE, params![file, m.capture_time(), m.camera()])?;
    Ok(())
}

static SET_ON_FILE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE files SET taken = ?2, camera = ?3, taken_sort = coalesce(?2, {})
          WHERE id = ?1 AND (taken IS NOT ?2 OR camera IS NOT ?3)",
        super::files::imported_sort_key("imported_at")
    )
});

/// What was read from `file`, if it was read.
pub fn get(c: &Connection, file: FileId) -> rusqlite::Result<Option<Extracted>> {
    c.query_row(
        "SELECT outcome, width, height, orientation, taken_at, camera_make, camera_model, lens,
                has_gps, gps_lat, gps_lon, duration_ms, video_codec, pages
           FROM file_metadata WHERE file = ?1",
        [file],
        |r| {
            let lat: Option<f64> = r.get(9)?;
            let lon: Option<f64> = r.get(10)?;
            let duration: Option<i64> = r.get(11)?;
            Ok(Extracted {
                outcome: Outcome::parse(&r.get::<_, String>(0)?).unwrap_or(Outcome::Unreadable),
                metadata: FileMetadata {
                    width: r.get(1)?,
                    height: r.get(2)?,
                    orientation: r.get(3)?,
                    taken_at: r.get(4)?,
                    camera_make: r.get(5)?,
                    camera_model: r.get(6)?,
                    lens: r.get(7)?,
                    has_gps: r.get(8)?,
                    gps: lat.zip(lon),
                    duration_ms: duration.and_then(|d| u64::try_from(d).ok()),
                    video_codec: r.get(12)?,
                    pages: r.get(13)?,
                },
            })
        },
    )
    .optional()
}

/// Up to `limit` files after `after` (by id) that were never read for their metadata, with
/// their blob's sha256: the engine's fill-in walks the library with this, batch by batch.
pub fn unread_after(
    c: &Connection,
    after: FileId,
    limit: usize,
) -> rusqlite::Result<Vec<(FileId, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT f.id, f.sha256 FROM files f
          WHERE f.id > ?1 AND NOT EXISTS (SELECT 1 FROM file_metadata m WHERE m.file = f.id)
          ORDER BY f.id LIMIT ?2",
    )?;
    stmt.query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}
