//! `smartimage check --adopt --account NAME`: the blobs the database does not know become
//! files of an account again, so a restore from an older backup loses no bytes. Each is
//! re-hashed first (only intact bytes are adopted), its format read from its content, named
//! `recovered-<sha12>.<ext>` with source `recovered`, and put in a new collection
//! `Recovered <date>`. Then the blob store is bound to this database.

use std::collections::HashSet;

use serde::Serialize;

use crate::library::actions::{Library, event, now};
use crate::library::blobs::BlobCheck;
use crate::library::custody::Custody;
use crate::library::error::{LibraryError, Result};
use crate::library::formats::{self, Detection, FORMAT_TABLE};
use crate::library::model::{FileId, NewFile, Source};
use crate::library::permissions::{Actor, Right};
use crate::library::store::{audit, blob_table, collections, files, inspection};

/// Hex digits of the hash in a recovered file's name.
const NAME_HASH_DIGITS: usize = 12;

/// What an adoption did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AdoptReport {
    pub account: String,
    pub adopted: Vec<AdoptedFile>,
    pub bytes: u64,
    /// The collection they went into (none when nothing was adopted).
    pub collection: Option<String>,
    /// Blobs whose bytes no longer match their name: left where they are, not adopted.
    pub corrupt: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AdoptedFile {
    pub id: FileId,
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub format: String,
}

impl Library {
    pub fn adopt_unknown_blobs(&mut self, actor: &Actor, account: &str) -> Result<AdoptReport> {
        actor.check(Right::Maintain)?;
        let account = self.account(account)?;
        // A database that is not the blob store's, or older than it, may not know blobs it
        // released or pinned in a future it lost: adopt everything no file references then.
        let restored = !matches!(self.custody()?, Custody::Bound);
        let candidates = self.blobs_to_adopt(restored)?;
        let mut report = AdoptReport {
            account: account.name.clone(),
            ..AdoptReport::default()
        };
        let mut rows = Vec::new();
        let at = now().unix_timestamp();
        for sha256 in candidates {
            let cannot = |e| LibraryError::io("cannot read a blob", self.blobs.root(), e);
            let size = match self.blobs.verify(&sha256).map_err(cannot)? {
                BlobCheck::Ok { size } => size,
                BlobCheck::Missing => continue,
                BlobCheck::Corrupt { .. } => {
                    report.corrupt.push(sha256);
                    continue;
                }
            };
            let path = self
                .blobs
                .path_of(&sha256)
                .expect("a listed blob has a path");
            let detection = formats::detect_file(&path, "")
                .map_err(|e| LibraryError::io("cannot read a blob", &path, e))?;
            let name = recovered_name(&sha256, &detection);
            rows.push(NewFile {
                batch: None,
                account: account.id,
                name,
                size,
                kind: detection
                    .kind()
                    .map_or("unknown", |k| k.as_str())
                    .to_owned(),
                format: detection.format.clone(),
                mime: detection.mime.clone(),
                sha256,
                source: Source::Recovered,
                uploaded_by: Some(actor.admin.id),
                imported_at: at,
                dropbox: None,
            });
        }
        if !rows.is_empty() {
            let date = now().date();
            let base = format!("Recovered {date}");
            let (collection, ids) = self.store.transaction(|tx| -> Result<_> {
                let name = free_collection_name(tx, account.id, &base)?;
                let collection =
                    collections::create_collection(tx, account.id, &name, actor.admin.id, at)?;
                let mut ids = Vec::with_capacity(rows.len());
                for row in &rows {
                    ids.push(files::insert_file(tx, row, None)?);
                    blob_table::record_live(tx, &row.sha256, row.size, at)?;
                }
                collections::add_files(tx, collection, &ids, actor.admin.id, at)?;
                let bytes: u64 = rows.iter().map(|r| r.size).sum();
                let detail = format!("{} file(s), {bytes} bytes, into {name:?}", rows.len());
                audit::record(
                    tx,
                    &event(
                        actor,
                        at,
                        "check.adopt",
                        Some(account.id),
                        &account.name,
                        Some(&detail),
                    ),
                )?;
                Ok((name, ids))
            })?;
            report.collection = Some(collection);
            for (row, id) in rows.into_iter().zip(ids) {
                report.bytes += row.size;
                report.adopted.push(AdoptedFile {
                    id,
                    name: row.name,
                    sha256: row.sha256,
                    size: row.size,
                    format: row.format,
                });
            }
        }
        self.rebind_blob_store()?;
        Ok(report)
    }

    /// Blobs on disk no file references that the database does not know — or, for a restored
    /// database, that it only knows as released or pinned.
    fn blobs_to_adopt(&self, restored: bool) -> Result<Vec<String>> {
        let c = self.store.connection();
        // Restored: what the table knows (released, pinned) may be live in the lost future.
        let referenced_or_known = |sha256: &str| inspection::is_known(c, sha256, !restored);
        let mut found = Vec::new();
        let mut failed = None;
        self.blobs
            .inventory(|sha256| match referenced_or_known(sha256) {
                Ok(true) => {}
                Ok(false) => found.push(sha256.to_owned()),
                Err(e) => {
                    failed.get_or_insert(e);
                }
            })
            .map_err(|e| LibraryError::io("cannot list the blob store", self.blobs.root(), e))?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        found.sort();
        Ok(found)
    }
}

/// `recovered-<sha12>.<ext>`, the extension the detected format is best known by.
fn recovered_name(sha256: &str, detection: &Detection) -> String {
    let stem = format!("recovered-{}", &sha256[..NAME_HASH_DIGITS]);
    let extension = FORMAT_TABLE
        .iter()
        .find(|row| row.name == detection.format)
        .and_then(|row| row.extensions.first());
    match extension {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem,
    }
}

/// `base`, or `base (2)`, `base (3)`… — the first name no collection of the account has.
fn free_collection_name(
    c: &rusqlite::Connection,
    account: crate::library::model::AccountId,
    base: &str,
) -> rusqlite::Result<String> {
    let taken: HashSet<String> = inspection::collection_names(c, account)?
        .into_iter()
        .map(|name| name.to_lowercase())
        .collect();
    let mut candidate = base.to_owned();
    let mut n = 2;
    while taken.contains(&candidate.to_lowercase()) {
        candidate = format!("{base} ({n})");
        n += 1;
    }
    Ok(candidate)
}
