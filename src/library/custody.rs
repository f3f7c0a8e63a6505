//! Custody of the blobs: the only copy of every imported file (its Dropbox original is deleted
//! once the row is durable). Three rules, each kept here (RELIABILITY.md, "Garbage collection"):
//!
//! - a blob is pinned in the metadata store before its bytes are renamed into the blob store,
//!   so a blob the store never heard of is never a write of ours in flight — and never deleted;
//! - only what the store released is deleted, checked again in the deleting transaction;
//! - the database and the blob store carry one identity: a database that is not the blob
//!   store's, or is older than it (restored from a backup), stops collection before it starts.

use crate::library::actions::{Library, now};
use crate::library::blobs::{Blob, BlobStoreIdentity, PendingBlob};
use crate::library::error::{LibraryError, Result};
use crate::library::store::blob_table;
use crate::library::store::identity::{self, LibraryIdentity};

/// What one garbage collection did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Collected {
    pub blobs: usize,
    pub bytes: u64,
}

impl From<&LibraryIdentity> for BlobStoreIdentity {
    fn from(id: &LibraryIdentity) -> Self {
        BlobStoreIdentity {
            library_id: id.library_id.clone(),
            epoch: id.epoch,
        }
    }
}

/// How the database and the blob store stand to each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Custody {
    /// One library, the database as new as the blob store (or newer: it catches up).
    Bound,
    /// The blob store names another library.
    Foreign { blobs: String, database: String },
    /// Same library, but the blob store has seen a later epoch: a restored or copied-back
    /// database, which may not know blobs imported since.
    OlderDatabase { blobs: u64, database: u64 },
}

impl Library {
    /// Compares the database's identity with the blob store's; a blob store no library has
    /// bound yet (a new one, or one from before identities) is bound to this database.
    pub fn custody(&mut self) -> Result<Custody> {
        let database = identity::read(self.store.connection())?;
        let cannot = |e| {
            LibraryError::io(
                "cannot read the blob store's identity",
                self.blobs.root(),
                e,
            )
        };
        let Some(blobs) = self.blobs.identity().map_err(cannot)? else {
            self.record_blob_identity(&database)?;
            return Ok(Custody::Bound);
        };
        if blobs.library_id != database.library_id {
            return Ok(Custody::Foreign {
                blobs: blobs.library_id,
                database: database.library_id,
            });
        }
        if blobs.epoch > database.epoch {
            return Ok(Custody::OlderDatabase {
                blobs: blobs.epoch,
                database: database.epoch,
            });
        }
        if blobs.epoch < database.epoch {
            // A crash between the database's step and the blob store's: catch up.
            self.record_blob_identity(&database)?;
        }
        Ok(Custody::Bound)
    }

    /// `custody`, as an error that says what to do when the two are not one library.
    pub fn require_custody(&mut self) -> Result<()> {
        let blobs = self.blobs.root().to_path_buf();
        let database = self.store.path().to_path_buf();
        match self.custody()? {
            Custody::Bound => Ok(()),
            Custody::Foreign { .. } => Err(LibraryError::ForeignBlobStore { blobs, database }),
            Custody::OlderDatabase {
                blobs: blobs_epoch,
                database: database_epoch,
            } => Err(LibraryError::OlderDatabase {
                database,
                blobs,
                database_epoch,
                blobs_epoch,
            }),
        }
    }

    /// Moves the epoch forward in the database, then in the blob store: a copy of the database
    /// taken before this is older than the blob store from now on.
    pub fn advance_epoch(&mut self) -> Result<u64> {
        let id = self.store.transaction(identity::advance_epoch)?;
        self.record_blob_identity(&id)?;
        Ok(id.epoch)
    }

    /// Binds the blob store to this database whatever it said before (`check --adopt`, once
    /// the blobs this database did not know are its files again).
    pub fn rebind_blob_store(&mut self) -> Result<u64> {
        let cannot = |e| {
            LibraryError::io(
                "cannot read the blob store's identity",
                self.blobs.root(),
                e,
            )
        };
        let blobs_epoch = self
            .blobs
            .identity()
            .map_err(cannot)?
            .map_or(0, |b| b.epoch);
        let id = self
            .store
            .transaction(|tx| -> rusqlite::Result<LibraryIdentity> {
                let current = identity::read(tx)?;
                let epoch = current.epoch.max(blobs_epoch) + 1;
                identity::set_epoch(tx, epoch)?;
                Ok(LibraryIdentity { epoch, ..current })
            })?;
        self.record_blob_identity(&id)?;
        Ok(id.epoch)
    }

    fn record_blob_identity(&self, id: &LibraryIdentity) -> Result<()> {
        self.blobs.record_identity(&id.into()).map_err(|e| {
            LibraryError::io(
                "cannot record the blob store's identity",
                self.blobs.root(),
                e,
            )
        })?;
        Ok(())
    }

    /// Pins the blobs in the store, then makes them durable in the blob store. The rows that
    /// reference them unpin them as they commit ([`Library::commit_files_with`]); if the blobs
    /// cannot be stored, their pins go at once.
    pub fn store_pinned_blobs(&mut self, pending: Vec<PendingBlob>) -> Result<Vec<Blob>> {
        let pins: Vec<(String, u64)> = pending
            .iter()
            .map(|p| (p.blob().sha256.clone(), p.blob().size))
            .collect();
        self.pin_blobs(&pins)?;
        match self.blobs.commit_batch(pending) {
            Ok(blobs) => Ok(blobs),
            Err(e) => {
                self.unpin_blobs(pins.iter().map(|(s, _)| s.as_str()))?;
                Err(LibraryError::io(
                    "cannot store the files",
                    self.blobs.root(),
                    e,
                ))
            }
        }
    }

    /// Pins blobs (hash, size) before their bytes are renamed into the blob store.
    pub fn pin_blobs(&mut self, pins: &[(String, u64)]) -> Result<()> {
        let at = now().unix_timestamp();
        // Relaxed: a pin lost to a power cut leaves a blob the store does not know, which is
        // kept (and reported by `check`), never deleted.
        self.store.transaction_relaxed(|tx| {
            let list: Vec<(&str, u64)> = pins.iter().map(|(s, n)| (s.as_str(), *n)).collect();
            blob_table::pin(tx, &list, at)
        })?;
        Ok(())
    }

    /// Drops the pins of blobs whose rows will not be committed.
    pub fn unpin_blobs<'a>(&mut self, shas: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let at = now().unix_timestamp();
        let shas: Vec<&str> = shas.into_iter().collect();
        self.store.transaction(|tx| -> rusqlite::Result<()> {
            for sha in &shas {
                blob_table::unpin(tx, sha, at)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Crash recovery, with every writer held out: the pins left are dead writers'.
    pub fn release_dead_pins(&mut self) -> Result<usize> {
        let at = now().unix_timestamp();
        Ok(self
            .store
            .transaction(|tx| blob_table::release_dead_pins(tx, at))?)
    }

    /// Deletes the bytes of every blob the store released — and nothing else. Each blob is
    /// checked again and forgotten in the transaction that deletes it: a writer pinning it
    /// meanwhile waits for that transaction and then writes the blob anew. Refuses to run
    /// unless the database and the blob store are one library.
    pub fn collect_released_blobs(&mut self) -> Result<Collected> {
        self.require_custody()?;
        let released = blob_table::released(self.store.connection())?;
        let mut collected = Collected::default();
        for (sha256, _) in released {
            let blobs = self.blobs.clone();
            let freed = self.store.transaction(|tx| -> Result<Option<u64>> {
                if !blob_table::forget_released(tx, &sha256)? {
                    return Ok(None);
                }
                blobs
                    .remove(&sha256)
                    .map_err(|e| LibraryError::io("cannot delete a released blob", blobs.root(), e))
            })?;
            if let Some(bytes) = freed {
                collected.blobs += 1;
                collected.bytes += bytes;
            }
        }
        Ok(collected)
    }
}
