//! Turning what the engine names (a path in any case, `id:…`, `rev:…`) into what is on disk
//! now, and the scans behind it; scans log what they leave out once, not on every rescan.

use std::sync::PoisonError;
use std::time::SystemTime;

use super::cursors::Listing;
use super::errors::io_error;
use super::identity::{self, Target, id_of, parse_target, rev_of};
use super::scan::{FolderCache, Located, Scan, ScanRules, locate, scan};
use super::{Inner, fs_at, malformed};
use crate::dropbox::backend::BackendResult;
use crate::dropbox::wire::Metadata;

/// Distinct "left out" notes remembered so each is logged once, not on every rescan.
const MAX_REMEMBERED_NOTES: usize = 10_000;

impl Inner {
    pub(super) fn scan(&self, listing: &Listing) -> BackendResult<Option<Scan>> {
        let rules = ScanRules {
            recursive: listing.recursive,
            stable_for: self.settings.stable_for,
            now: SystemTime::now(),
        };
        let path = identity::join_path(&listing.components);
        let scan = scan(&self.root, &listing.components, &rules)
            .map_err(|error| io_error(&path, error))?;
        if let Some(scan) = &scan {
            self.log_new_notes(&scan.skipped);
        }
        Ok(scan)
    }

    /// Logs what a scan left out, once per distinct note (scans repeat every few seconds).
    pub(super) fn log_new_notes(&self, notes: &[String]) {
        if notes.is_empty() {
            return;
        }
        let mut noted = self.noted.lock().unwrap_or_else(PoisonError::into_inner);
        for note in notes {
            if noted.len() >= MAX_REMEMBERED_NOTES {
                noted.clear();
            }
            if noted.insert(note.clone()) {
                tracing::warn!(root = %self.root.path.display(), "not reported: {note}");
            }
        }
    }

    /// The display path of the first file or folder (stable or not) that `wanted` picks.
    pub(super) fn find(
        &self,
        wanted: impl Fn(&Metadata) -> bool,
    ) -> BackendResult<Option<Vec<String>>> {
        let everything = Listing {
            components: Vec::new(),
            recursive: true,
        };
        let Some(scan) = self.scan(&everything)? else {
            return Ok(None);
        };
        let found = scan
            .entries
            .values()
            .chain(scan.unstable.values())
            // An escaped name names nothing a lookup could reach.
            .filter(|entry| !matches!(entry, Metadata::File(file) if file.escaped_name))
            .find(|entry| wanted(entry));
        Ok(found
            .and_then(path_display)
            .map(|path| path.split('/').skip(1).map(str::to_owned).collect()))
    }

    /// Components of the path `target` names now; `None` if nothing matches.
    pub(super) fn components_of(&self, target: Target) -> BackendResult<Option<Vec<String>>> {
        match target {
            Target::Path(components) => Ok(Some(components)),
            Target::Id(id) => self.find(|entry| entry_id(entry) == Some(id.as_str())),
            Target::Rev(rev) => {
                self.find(|entry| matches!(entry, Metadata::File(file) if file.rev == rev))
            }
        }
    }

    /// The entry `path` names (a path, `id:` or `rev:`), checked to still be at that id/rev.
    pub(super) fn locate(&self, path: &str) -> BackendResult<Option<Located>> {
        self.locate_with(path, &mut FolderCache::default())
    }

    /// [`Self::locate`] for one of a batch of lookups, reusing the folders opened before.
    pub(super) fn locate_with(
        &self,
        path: &str,
        folders: &mut FolderCache,
    ) -> BackendResult<Option<Located>> {
        let target = parse_target(path).map_err(|error| malformed(path, error))?;
        let Some(components) = self.components_of(target.clone())? else {
            return Ok(None);
        };
        let Some(located) =
            locate(&self.root, &components, folders).map_err(|error| io_error(path, error))?
        else {
            return Ok(None);
        };
        let still_matches = match &target {
            Target::Path(_) => true,
            Target::Id(id) => id_of(&located.stat) == *id,
            Target::Rev(rev) => fs_at::is_regular(&located.stat) && rev_of(&located.stat) == *rev,
        };
        Ok(still_matches.then_some(located))
    }
}

fn entry_id(entry: &Metadata) -> Option<&str> {
    match entry {
        Metadata::File(file) => Some(&file.id),
        Metadata::Folder(folder) => Some(&folder.id),
        _ => None,
    }
}

fn path_display(entry: &Metadata) -> Option<&str> {
    match entry {
        Metadata::File(file) => file.path_display.as_deref(),
        Metadata::Folder(folder) => folder.path_display.as_deref(),
        _ => None,
    }
}
