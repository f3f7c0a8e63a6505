//! `list_folder`, `list_folder/continue` and the longpoll check. A cursor
//! names a folder scope, a position in the account's change journal and, while a listing is
//! being paged, the rest of that page set. Cursors are immutable: every answer mints a new one,
//! so a client may replay an older cursor and get the same deltas again.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::paths::{self, Target};
use super::state::{Namespace, Outcome, Refusal, Store};
use crate::dropbox::wire::{
    DeletedMetadata, LIST_FOLDER_LIMIT_MAX, ListFolderArg, ListFolderContinueError,
    ListFolderError, ListFolderLongpollError, ListFolderResult, LookupError, Metadata,
};

const CURSOR_PREFIX: &str = "AAE";

#[derive(Clone, Debug)]
pub struct Scope {
    /// `""` for the app-folder root.
    lower: String,
    recursive: bool,
}

impl Scope {
    fn contains(&self, lower: &str) -> bool {
        if self.recursive {
            self.lower.is_empty() || lower == self.lower || is_below(lower, &self.lower)
        } else {
            parent_of(lower) == self.lower
        }
    }
}

fn is_below(lower: &str, folder: &str) -> bool {
    lower.len() > folder.len() + 1
        && lower.starts_with(folder)
        && lower.as_bytes()[folder.len()] == b'/'
}

fn parent_of(lower: &str) -> &str {
    lower.rfind('/').map(|slash| &lower[..slash]).unwrap_or("")
}

#[derive(Clone, Debug)]
pub struct CursorRecord {
    account: String,
    scope: Scope,
    limit: usize,
    /// Journal length when the listing (or the last delta) was taken.
    seq: usize,
    pending: Arc<Vec<Metadata>>,
    offset: usize,
}

impl Store {
    pub fn list_folder(
        &mut self,
        account_id: &str,
        arg: &ListFolderArg,
    ) -> Outcome<ListFolderResult, ListFolderError> {
        let record = self.new_cursor(account_id, arg)?;
        let namespace = &self.namespaces[account_id];
        let mut snapshot: BTreeMap<&str, Metadata> = namespace
            .entries
            .iter()
            .filter(|(lower, _)| record.scope.contains(lower))
            .map(|(lower, entry)| (lower.as_str(), entry.metadata(lower)))
            .collect();
        if arg.include_deleted {
            // Paths that once held something and hold nothing now (the newest spelling wins).
            for change in &namespace.journal {
                if !namespace.entries.contains_key(&change.lower)
                    && record.scope.contains(&change.lower)
                {
                    snapshot.insert(&change.lower, change.tombstone());
                }
            }
        }
        let snapshot: Vec<Metadata> = snapshot.into_values().collect();
        Ok(self.page(CursorRecord {
            pending: Arc::new(snapshot),
            ..record
        }))
    }

    /// `list_folder/get_latest_cursor`: a cursor at "now" that only sees later changes.
    pub fn latest_cursor(
        &mut self,
        account_id: &str,
        arg: &ListFolderArg,
    ) -> Outcome<String, ListFolderError> {
        let record = self.new_cursor(account_id, arg)?;
        Ok(self.page(record).cursor)
    }

    /// A cursor record for `arg`'s folder at the current journal position, nothing pending.
    fn new_cursor(
        &mut self,
        account_id: &str,
        arg: &ListFolderArg,
    ) -> Outcome<CursorRecord, ListFolderError> {
        if arg.path == "/" {
            return Err(Refusal::BadRequest(
                "path: Specify the root folder as an empty string rather than as \"/\".".into(),
            ));
        }
        let limit = match arg.limit {
            None => LIST_FOLDER_LIMIT_MAX,
            Some(limit) if (1..=LIST_FOLDER_LIMIT_MAX).contains(&limit) => limit,
            Some(limit) => {
                return Err(Refusal::BadRequest(format!(
                    "limit: {limit} is not within 1..={LIST_FOLDER_LIMIT_MAX}"
                )));
            }
        };
        let (namespace, _) = self.namespace(account_id);
        let lookup = |error| Refusal::Route(ListFolderError::Path { path: error });
        let target = paths::parse_target(&arg.path).map_err(|reason| {
            lookup(LookupError::MalformedPath {
                malformed_path: Some(reason),
            })
        })?;
        let lower = match target {
            Target::Root => String::new(),
            other => {
                let lower = namespace.lookup(&other).map_err(lookup)?;
                if !namespace.entries[&lower].is_folder() {
                    return Err(lookup(LookupError::NotFolder));
                }
                lower
            }
        };
        Ok(CursorRecord {
            account: account_id.to_owned(),
            scope: Scope {
                lower,
                recursive: arg.recursive,
            },
            limit: limit as usize,
            seq: namespace.journal.len(),
            pending: Arc::new(Vec::new()),
            offset: 0,
        })
    }

    pub fn list_folder_continue(
        &mut self,
        account_id: &str,
        cursor: &str,
    ) -> Outcome<ListFolderResult, ListFolderContinueError> {
        let record = self
            .cursors
            .get(cursor)
            .filter(|record| record.account == account_id)
            .cloned()
            .ok_or(Refusal::Route(ListFolderContinueError::Reset))?;
        if record.offset < record.pending.len() {
            return Ok(self.page(record));
        }
        let (namespace, _) = self.namespace(account_id);
        if !folder_exists(namespace, &record.scope.lower) {
            return Err(Refusal::Route(ListFolderContinueError::Path {
                path: LookupError::NotFound,
            }));
        }
        let deltas = deltas_since(namespace, &record.scope, record.seq);
        let next = CursorRecord {
            seq: namespace.journal.len(),
            pending: Arc::new(deltas),
            offset: 0,
            ..record
        };
        Ok(self.page(next))
    }

    /// Whether `continue` with this cursor would return entries now.
    pub fn cursor_has_changes(
        &self,
        cursor: &str,
    ) -> Result<(String, bool), ListFolderLongpollError> {
        let record = self
            .cursors
            .get(cursor)
            .ok_or(ListFolderLongpollError::Reset)?;
        if record.offset < record.pending.len() {
            return Ok((record.account.clone(), true));
        }
        let namespace = &self.namespaces[&record.account];
        let changed = namespace.journal[record.seq.min(namespace.journal.len())..]
            .iter()
            .any(|change| record.scope.contains(&change.lower))
            || !folder_exists(namespace, &record.scope.lower);
        Ok((record.account.clone(), changed))
    }

    fn page(&mut self, record: CursorRecord) -> ListFolderResult {
        let end = (record.offset + record.limit).min(record.pending.len());
        let entries = record.pending[record.offset..end].to_vec();
        let next = CursorRecord {
            offset: end,
            ..record
        };
        let has_more = next.offset < next.pending.len();
        let cursor = self.ids.opaque(CURSOR_PREFIX);
        self.cursors.insert(cursor.clone(), next);
        ListFolderResult {
            entries,
            cursor,
            has_more,
        }
    }
}

fn folder_exists(namespace: &Namespace, lower: &str) -> bool {
    lower.is_empty()
        || namespace
            .entries
            .get(lower)
            .is_some_and(|entry| entry.is_folder())
}

/// Paths changed since `seq`, each once in the order of its last change, as their current
/// metadata or as `deleted`. Parents come before children because an entry is journaled after
/// its parent was created; a deleted folder's children are journaled before the folder.
fn deltas_since(namespace: &Namespace, scope: &Scope, seq: usize) -> Vec<Metadata> {
    let changes = &namespace.journal[seq.min(namespace.journal.len())..];
    let mut seen: HashSet<&str> = HashSet::new();
    let mut latest_first = Vec::new();
    for change in changes.iter().rev() {
        if scope.contains(&change.lower) && seen.insert(change.lower.as_str()) {
            latest_first.push(change);
        }
    }
    latest_first
        .into_iter()
        .rev()
        .map(|change| match namespace.entries.get(&change.lower) {
            Some(entry) => entry.metadata(&change.lower),
            None => Metadata::Deleted(DeletedMetadata {
                name: change
                    .display
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                path_lower: Some(change.lower.clone()),
                path_display: Some(change.display.clone()),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_root_scope_holds_everything_and_flat_scope_only_children() {
        let root = Scope {
            lower: String::new(),
            recursive: true,
        };
        assert!(root.contains("/a") && root.contains("/a/b/c"));
        let flat = Scope {
            lower: "/a".into(),
            recursive: false,
        };
        assert!(flat.contains("/a/b"));
        assert!(!flat.contains("/a/b/c") && !flat.contains("/ab") && !flat.contains("/a"));
        let deep = Scope {
            lower: "/a".into(),
            recursive: true,
        };
        assert!(deep.contains("/a") && deep.contains("/a/b/c"));
        assert!(!deep.contains("/ab") && !deep.contains("/a b"));
    }
}
