//! What the engine tells its front ends, and what they may ask of it. Front ends render events;
//! they never touch Dropbox or the store for long work themselves.

use crate::library::ids::FileId;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::mpsc::error::SendError;

use crate::library::local_source::SkipReason;
use crate::library::policy::ErrorKind;
use crate::library::store::import_items::ItemId;
use crate::library::store::links::{LinkId, LinkState};

/// Identifies a file in flight, for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemRef {
    pub item: ItemId,
    pub link: LinkId,
    pub account: String,
    pub path: String,
    pub size: u64,
}

/// A file of a direct upload from this machine's disk (not Dropbox), for display. `upload`
/// numbers are negative, so they never equal an import item's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UploadRef {
    pub upload: ItemId,
    pub account: String,
    pub path: String,
    pub size: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassSummary {
    pub discovered: u64,
    pub imported: u64,
    pub imported_bytes: u64,
    /// Refused, or failing persistently: reported to the customer.
    pub failed: u64,
    /// Failed a try for a reason that may pass (Dropbox trouble, a fault of our server):
    /// waiting in Dropbox for their next try, not reported.
    pub retrying: u64,
    pub deleted: u64,
    /// `delete_batch` calls made (each takes up to 1,000 files).
    pub delete_batches: u64,
    pub kept_changed: u64,
    pub reports: u64,
}

impl PassSummary {
    pub fn add(&mut self, other: &PassSummary) {
        self.discovered += other.discovered;
        self.imported += other.imported;
        self.imported_bytes += other.imported_bytes;
        self.failed += other.failed;
        self.retrying += other.retrying;
        self.deleted += other.deleted;
        self.delete_batches += other.delete_batches;
        self.kept_changed += other.kept_changed;
        self.reports += other.reports;
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    PassStarted {
        link: LinkId,
        account: String,
    },
    Discovered(ItemRef),
    /// Passed the plan rules on its metadata; its quota is reserved.
    Admitted {
        item: ItemId,
    },
    /// Bytes received so far; coalesced, at most a few per second per file.
    Progress {
        item: ItemId,
        bytes: u64,
        total: u64,
    },
    Verifying {
        item: ItemId,
    },
    Imported {
        item: ItemRef,
        file: FileId,
    },
    Failed {
        item: ItemRef,
        kind: ErrorKind,
        detail: String,
    },
    /// A try failed for a reason that may pass (a transient Dropbox failure, a fault of our
    /// own server): the file stays in Dropbox and is tried again from `next_attempt_at` (unix
    /// seconds). Not reported to the customer.
    Retrying {
        item: ItemRef,
        kind: ErrorKind,
        detail: String,
        next_attempt_at: i64,
    },
    /// Deleted from Dropbox after import.
    Deleted {
        item: ItemId,
    },
    /// Changed in Dropbox after it was imported (or while it was read): left there.
    KeptChanged {
        item: ItemId,
    },
    /// The account folder's report was written (or rewritten) to list what fails there now.
    ReportWritten {
        link: LinkId,
        account: String,
        path: String,
        failures: u64,
    },
    /// Nothing fails in the account folder any more: its report was deleted.
    ReportRemoved {
        link: LinkId,
        account: String,
        path: String,
    },
    /// The file is one of our own reports under another name (its content says so): left in
    /// Dropbox as it is, never imported, counted or listed.
    OurReportLeft {
        item: ItemRef,
    },
    RateLimited {
        link: LinkId,
        wait: Duration,
    },
    LinkState {
        link: LinkId,
        account: String,
        state: LinkState,
        detail: Option<String>,
    },
    /// A problem with a whole link (listing failed, Dropbox unreachable); the link is retried later.
    LinkError {
        link: LinkId,
        account: String,
        detail: String,
    },
    PassFinished {
        link: LinkId,
        account: String,
        summary: PassSummary,
    },
    /// A file of a direct upload (`import::upload`) waits its turn.
    UploadQueued(UploadRef),
    /// The uploaded file is stored as `file` in All Files, with source `upload`.
    Uploaded {
        upload: UploadRef,
        file: FileId,
    },
    /// The uploaded file was refused (plan rules, format) or could not be stored.
    UploadRefused {
        upload: UploadRef,
        kind: ErrorKind,
        detail: String,
    },
    /// The file was left out, not failed: its bytes are already in the account (as
    /// `reason`'s file), or it is a link not to follow.
    UploadSkipped {
        upload: UploadRef,
        reason: SkipReason,
    },
}

/// Requests to a running engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineCommand {
    Pause(LinkId),
    Resume(LinkId),
    ScanNow,
    /// Queue failed (and retrying) items for a retry (`None` = all of the link's).
    Retry {
        link: LinkId,
        items: Option<Vec<ItemId>>,
    },
    /// Finish commits in flight, start nothing new, then stop.
    Shutdown,
}

/// Where the engine's events go: to its own front end, and (those it publishes) to the
/// publisher (`import::publish`), both sent at once so the front end never waits on the store.
#[derive(Clone, Debug)]
pub struct EventSink {
    front_end: UnboundedSender<EngineEvent>,
    publisher: Option<UnboundedSender<EngineEvent>>,
}

impl EventSink {
    pub fn new(
        front_end: UnboundedSender<EngineEvent>,
        publisher: Option<UnboundedSender<EngineEvent>>,
    ) -> EventSink {
        EventSink {
            front_end,
            publisher,
        }
    }

    /// Fails only when the front end is gone.
    pub fn send(&self, event: EngineEvent) -> Result<(), SendError<EngineEvent>> {
        if let Some(publisher) = &self.publisher
            && crate::import::publish::wants(&event)
        {
            let _ = publisher.send(event.clone());
        }
        self.front_end.send(event)
    }
}
