//! `smartimage check`: does the library hold what it says it holds? The database's own
//! integrity check, its identity against the blob store's, every file row's blob (present, the
//! right size, and with `--read-data` the right bytes), blobs the database does not know, and
//! what a process that died left behind. It only reads; `check --adopt` (`adopt.rs`) mends.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::library::actions::Library;
use crate::library::blobs::BlobCheck;
use crate::library::custody::Custody;
use crate::library::error::{LibraryError, Result};
use crate::library::permissions::{Actor, Right};
use crate::library::store::blob_table::{self, BlobCounts, BlobState};
use crate::library::store::inspection::{self, FileBlob};

/// The audit action of a file an export or share refused because its blob is damaged.
pub const EXPORT_REFUSED_ACTION: &str = "export refused";

/// The 64-hex-digit blob name after "blob " in an audit detail, if there is one.
fn blob_named_in(detail: &str) -> Option<String> {
    detail.match_indices("blob ").find_map(|(at, word)| {
        let rest = &detail[at + word.len()..];
        let name = rest.get(..64)?;
        name.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            .then(|| name.to_owned())
    })
}

/// Problems of one kind listed one by one before the rest are only counted (human output).
pub const PROBLEMS_LISTED_PER_KIND: usize = 20;

/// What to look at.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions {
    /// Re-hash every blob, not only its size.
    pub read_data: bool,
    /// An import engine holds this library (the caller knows; the lock is the engine's):
    /// reservations, claims and pins may then be its work in flight, not leftovers.
    pub engine_running: bool,
}

/// One thing `check` found wrong, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The file, blob or path it is about.
    pub subject: String,
    pub detail: String,
    pub fix: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    DatabaseIntegrity,
    ForeignBlobStore,
    OlderDatabase,
    BlobMissing,
    BlobWrongSize,
    BlobCorrupt,
    UnknownBlob,
    ForeignEntry,
    LeftoverReservation,
    LeftoverDownload,
    LeftoverTempFile,
    DeadPin,
}

/// What `check` saw, problems included.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    pub database: String,
    pub blob_store: String,
    pub files: u64,
    pub blobs_on_disk: u64,
    pub blob_table: BlobCounts,
    pub read_data: bool,
    /// Bytes re-hashed (with `read_data`).
    pub bytes_read: u64,
    pub problems: Vec<Problem>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Progress of the blob pass: (blobs done, blobs in all, bytes done, bytes in all).
pub type CheckProgress<'a> = &'a mut dyn FnMut(u64, u64, u64, u64);

impl Library {
    /// Checks the whole library; `progress` hears of every blob checked.
    pub fn check(
        &mut self,
        actor: &Actor,
        options: CheckOptions,
        progress: CheckProgress<'_>,
    ) -> Result<CheckReport> {
        actor.check(Right::Maintain)?;
        let mut report = CheckReport {
            database: self.store.path().display().to_string(),
            blob_store: self.blobs.root().display().to_string(),
            read_data: options.read_data,
            ..CheckReport::default()
        };
        self.check_database(&mut report)?;
        self.check_custody(&mut report)?;
        self.check_file_blobs(&mut report, options.read_data, progress)?;
        if !options.read_data {
            self.check_blobs_refused_on_export(&mut report)?;
        }
        self.check_unknown_blobs(&mut report)?;
        self.check_leftovers(&mut report, options.engine_running)?;
        report.blob_table = blob_table::counts(self.store.connection())?;
        report.problems.sort_by_key(|p| p.kind);
        Ok(report)
    }

    fn check_database(&self, report: &mut CheckReport) -> Result<()> {
        let c = self.store.connection();
        for line in inspection::integrity_problems(c)? {
            report.problems.push(Problem {
                kind: ProblemKind::DatabaseIntegrity,
                subject: report.database.clone(),
                detail: line,
                fix: "stop every smartimage process, keep a copy of the data dir, and restore the \
                      database from the newest backup (README, \"Backup and restore\"); then run \
                      `smartimage check --adopt --account NAME`"
                    .into(),
            });
        }
        report.files = inspection::file_count(c)?;
        Ok(())
    }

    fn check_custody(&mut self, report: &mut CheckReport) -> Result<()> {
        let fix = "run `smartimage check --adopt --account NAME`: it turns the blobs this \
                   database does not know into files of that account and binds the blob store \
                   to this database"
            .to_owned();
        match self.custody()? {
            Custody::Bound => {}
            Custody::Foreign { blobs, database } => report.problems.push(Problem {
                kind: ProblemKind::ForeignBlobStore,
                subject: report.blob_store.clone(),
                detail: format!(
                    "the blob store belongs to library {blobs}, this database is library \
                     {database} (made by `init` over an existing blob store, or from elsewhere); \
                     the import engine will not start"
                ),
                fix,
            }),
            Custody::OlderDatabase { blobs, database } => report.problems.push(Problem {
                kind: ProblemKind::OlderDatabase,
                subject: report.database.clone(),
                detail: format!(
                    "the database is at epoch {database}, the blob store has seen {blobs}: it was \
                     restored from a backup or copied back; the import engine will not start"
                ),
                fix,
            }),
        }
        Ok(())
    }

    fn check_file_blobs(
        &self,
        report: &mut CheckReport,
        read_data: bool,
        progress: CheckProgress<'_>,
    ) -> Result<()> {
        let c = self.store.connection();
        let (count, total_bytes) = inspection::file_blob_totals(c)?;
        let (mut done, mut bytes_done) = (0u64, 0u64);
        inspection::for_each_file_blob(c, |blob| {
            let FileBlob {
                sha256,
                size,
                file_ids,
            } = blob;
            let subject = format!("file {file_ids} (blob {sha256})");
            let restore = "restore the blob from a backup of the blob store (README, \"Backup \
                           and restore\"), or re-import the file from its source"
                .to_owned();
            let path = self.blobs.path_of(&sha256);
            let on_disk = path.as_ref().map(std::fs::metadata);
            match on_disk {
                None | Some(Err(_)) => report.problems.push(Problem {
                    kind: ProblemKind::BlobMissing,
                    subject,
                    detail: "the file's bytes are not in the blob store".into(),
                    fix: restore,
                }),
                Some(Ok(meta)) if meta.len() != size => report.problems.push(Problem {
                    kind: ProblemKind::BlobWrongSize,
                    subject,
                    detail: format!("the blob has {} bytes, the file {size}", meta.len()),
                    fix: restore,
                }),
                Some(Ok(_)) if read_data => match self.blobs.verify(&sha256) {
                    Ok(BlobCheck::Ok { .. }) => {}
                    Ok(BlobCheck::Missing) => report.problems.push(Problem {
                        kind: ProblemKind::BlobMissing,
                        subject,
                        detail: "the file's bytes vanished while being checked".into(),
                        fix: restore,
                    }),
                    Ok(BlobCheck::Corrupt { actual_sha256 }) => report.problems.push(Problem {
                        kind: ProblemKind::BlobCorrupt,
                        subject,
                        detail: format!(
                            "the blob's bytes hash to {actual_sha256}: they changed on disk \
                             (export and preview refuse it)"
                        ),
                        fix: restore,
                    }),
                    Err(e) => report.problems.push(Problem {
                        kind: ProblemKind::BlobCorrupt,
                        subject,
                        detail: format!("the blob cannot be read: {e}"),
                        fix: restore,
                    }),
                },
                Some(Ok(_)) => {}
            }
            done += 1;
            bytes_done += size;
            if read_data {
                report.bytes_read += size;
            }
            progress(done, count, bytes_done, total_bytes);
            Ok(())
        })
    }

    /// Without `--read-data`, the blobs an export or a share refused as damaged (their audit
    /// rows name them) are re-hashed: a blob still damaged is listed.
    fn check_blobs_refused_on_export(&self, report: &mut CheckReport) -> Result<()> {
        let c = self.store.connection();
        let named: BTreeSet<String> = inspection::audit_details(c, EXPORT_REFUSED_ACTION)?
            .iter()
            .filter_map(|detail| blob_named_in(detail))
            .collect();
        for sha256 in named {
            // No file uses it any more: nothing to say.
            let Some(ids) = inspection::file_ids_with_sha256(c, &sha256)? else {
                continue;
            };
            if let Ok(BlobCheck::Corrupt { actual_sha256 }) = self.blobs.verify(&sha256) {
                report.problems.push(Problem {
                    kind: ProblemKind::BlobCorrupt,
                    subject: format!("file {ids} (blob {sha256})"),
                    detail: format!(
                        "an export refused this blob, and its bytes still hash to \
                         {actual_sha256}: they changed on disk"
                    ),
                    fix: "restore the blob from a backup of the blob store (README, \"Backup and \
                          restore\"), or re-import the file from its source"
                        .into(),
                });
            }
        }
        Ok(())
    }

    fn check_unknown_blobs(&self, report: &mut CheckReport) -> Result<()> {
        let c = self.store.connection();
        // One read transaction for every lookup (each would otherwise take SQLite's lock).
        let snapshot = c.unchecked_transaction()?;
        let mut unknown = Vec::new();
        let mut failed = None;
        let inventory = self
            .blobs
            .inventory(
                |sha256| match inspection::is_known(&snapshot, sha256, true) {
                    Ok(true) => {}
                    Ok(false) => unknown.push(sha256.to_owned()),
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                },
            )
            .map_err(|e| LibraryError::io("cannot list the blob store", self.blobs.root(), e))?;
        drop(snapshot);
        if let Some(e) = failed {
            return Err(e.into());
        }
        report.blobs_on_disk = inventory.blobs as u64;
        for sha256 in unknown {
            let size = self
                .blobs
                .path_of(&sha256)
                .and_then(|p| std::fs::metadata(p).ok())
                .map_or(0, |m| m.len());
            report.problems.push(Problem {
                kind: ProblemKind::UnknownBlob,
                subject: format!("blob {sha256}"),
                detail: format!(
                    "{size} bytes the database does not know (a restored or replaced database?); \
                     kept, never deleted automatically"
                ),
                fix: "`smartimage check --adopt --account NAME` makes it a file of that account"
                    .into(),
            });
        }
        for path in inventory.foreign {
            report.problems.push(Problem {
                kind: ProblemKind::ForeignEntry,
                subject: path.display().to_string(),
                detail: "not a blob of this store (wrong name or place); kept".into(),
                fix: "move it out of the blob store once you know what it is".into(),
            });
        }
        Ok(())
    }

    /// What a dead process left: only while no engine and no upload runs can we tell.
    fn check_leftovers(&mut self, report: &mut CheckReport, engine_running: bool) -> Result<()> {
        if engine_running {
            return Ok(());
        }
        let cannot = |e| LibraryError::io("cannot lock the blob store", self.blobs.root(), e);
        let Some(_writers_out) = self.blobs.try_cleaning().map_err(cannot)? else {
            return Ok(()); // An upload is writing: what looks left over may be its work.
        };
        let restart = "start the import engine once (`smartimage import --once`): its recovery \
                       releases and requeues what a process that died left"
            .to_owned();
        let c = self.store.connection();
        for (id, account, purpose, bytes) in inspection::reservations(c)? {
            report.problems.push(Problem {
                kind: ProblemKind::LeftoverReservation,
                subject: format!("reservation {id} ({account})"),
                detail: format!("{bytes} bytes of quota held for an {purpose} nobody is running"),
                fix: restart.clone(),
            });
        }
        for (id, path) in inspection::claimed_items(c)? {
            report.problems.push(Problem {
                kind: ProblemKind::LeftoverDownload,
                subject: format!("queue item {id} ({path})"),
                detail: "claimed by a download nobody is running".into(),
                fix: restart.clone(),
            });
        }
        let temp = self
            .blobs
            .temp_files()
            .map_err(|e| LibraryError::io("cannot list the blob store", self.blobs.root(), e))?;
        for path in temp {
            report.problems.push(Problem {
                kind: ProblemKind::LeftoverTempFile,
                subject: path.display().to_string(),
                detail: "a blob write that never finished".into(),
                fix: restart.clone(),
            });
        }
        for sha256 in inspection::pinned_blobs(c)? {
            let referenced = matches!(blob_table::state(c, &sha256)?, Some((BlobState::Live, _)));
            report.problems.push(Problem {
                kind: ProblemKind::DeadPin,
                subject: format!("blob {sha256}"),
                detail: if referenced {
                    "pinned by a writer that died (a file references it: it stays)".into()
                } else {
                    "pinned by a writer that died before its file row (the next start releases \
                     and deletes it)"
                        .into()
                },
                fix: restart.clone(),
            });
        }
        Ok(())
    }
}
