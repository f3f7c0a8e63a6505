//! What All Files' keys and its worker's answers do to the console: moving through the
//! window, sorting, filtering, marking, opening the collections dialogs and taking their
//! outcomes. Pure — every read or write goes out as an [`Effect::Files`]. `AllFiles` (in
//! `all_files/`) is the pane's state; this is `App` routing to it.

use crate::library::ids::FileId;
use std::collections::BTreeSet;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;

use crate::library::Library;
use crate::library::organise::FileSelection;
use crate::library::permissions::Actor;
use crate::library::store::SortKey;
use crate::library::store::file_pages::Cursor;
use crate::library::trash::TrashSelection;
use crate::tui::all_files::TakenSpan;
use crate::tui::all_files::keys::{FilesAction, mark_all, toggle};
use crate::tui::all_files::{
    CountPurpose, FilesReply, FilesRequest, KINDS, Marked, RestoreSelection, TrashJob, worker,
};
use crate::tui::dialogs::Dialog;
use crate::tui::dialogs::collections::{BatchDialog, EditDialog};
use crate::tui::dialogs::trash::{TrashConfirm, files_and_bytes};

use super::{App, Effect};

fn effects(requests: Vec<FilesRequest>) -> Vec<Effect> {
    requests.into_iter().map(Effect::Files).collect()
}

impl App {
    /// Ask for the first window (the console just opened, or the account changed).
    pub fn files_start(&mut self) -> Vec<Effect> {
        self.files.scope = self.scoped_account().map(str::to_owned);
        self.files.collection = None;
        self.files.collections.clear();
        self.files.marked = Marked::Nothing;
        let mut out = self.files.restart();
        if let Some(account) = self.files.scope.clone() {
            out.push(FilesRequest::Collections { account });
        }
        self.dirty = true;
        effects(out)
    }

    /// New files arrived: read the window again where it is.
    pub fn files_reload(&mut self) -> Vec<Effect> {
        effects(self.files.reload())
    }

    /// Keys that go to a text field or an open dialog before the key map sees them.
    pub fn files_modal_key(&mut self, key: KeyEvent) -> Option<Vec<Effect>> {
        // Ctrl-C quits and Ctrl-Z suspends from anywhere, dialogs and text fields included.
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c' | 'z'))
        {
            return None;
        }
        if !self.files.typing {
            return None;
        }
        self.dirty = true;
        match key.code {
            KeyCode::Enter | KeyCode::Down => {
                self.files.typing = false;
                Some(vec![])
            }
            KeyCode::Esc => {
                // Esc in the field clears the filter and leaves the field.
                self.files.typing = false;
                self.files.name.reset();
                Some(effects(self.files.restart()))
            }
            _ => {
                let before = self.files.name.value().to_owned();
                self.files.name.handle_event(&Event::Key(key));
                if self.files.name.value() == before {
                    return Some(vec![]);
                }
                Some(effects(self.files.restart()))
            }
        }
    }

    /// Move the cursor in the window: `to(cursor, rows)` gives the new index.
    pub fn files_move(&mut self, to: impl FnOnce(usize, usize) -> usize) -> Vec<Effect> {
        let f = &mut self.files;
        let len = f.rows.len();
        if len == 0 {
            return vec![];
        }
        let before = f.cursor;
        f.cursor = to(before, len).min(len - 1);
        f.clamp();
        if f.cursor != before {
            self.dirty = true;
        }
        let mut out = effects(self.files.follow());
        out.extend(self.files_preview_effects());
        out
    }

    pub fn files_jump(&mut self, last: bool) -> Vec<Effect> {
        self.dirty = true;
        let mut out = effects(self.files.jump(last));
        out.extend(self.files_preview_effects());
        out
    }

    pub fn files_action(&mut self, action: FilesAction) -> Vec<Effect> {
        self.dirty = true;
        self.files.notice = None;
        let f = &mut self.files;
        match action {
            FilesAction::CycleSort => {
                let i = SortKey::ALL
                    .iter()
                    .position(|s| *s == f.order.sort)
                    .unwrap_or(0);
                f.order.sort = SortKey::ALL[(i + 1) % SortKey::ALL.len()];
                // Newest, biggest first; names and kinds A to Z.
                f.order.descending = matches!(
                    f.order.sort,
                    SortKey::Imported | SortKey::Size | SortKey::Taken
                );
                effects(f.restart())
            }
            FilesAction::ReverseSort => {
                f.order.descending = !f.order.descending;
                effects(f.restart())
            }
            FilesAction::FilterName => {
                f.typing = true;
                vec![]
            }
            FilesAction::ToggleDropbox => {
                f.dropbox_only = !f.dropbox_only;
                effects(f.restart())
            }
            FilesAction::CycleKind => {
                f.kind = match f.kind {
                    None => Some(KINDS[0]),
                    Some(k) => KINDS
                        .iter()
                        .position(|x| *x == k)
                        .and_then(|i| KINDS.get(i + 1))
                        .copied(),
                };
                effects(f.restart())
            }
            FilesAction::CycleCollection => {
                if f.scope.is_none() {
                    f.notice = Some(
                        "collections belong to one account: pick it in the Accounts pane (1) first"
                            .into(),
                    );
                    return vec![];
                }
                if f.collections.is_empty() {
                    f.notice = Some("this account has no collections yet".into());
                    return vec![];
                }
                let names: Vec<&str> = f.collections.iter().map(|c| c.name.as_str()).collect();
                f.collection = match &f.collection {
                    None => Some(names[0].to_owned()),
                    Some(current) => names
                        .iter()
                        .position(|n| n == current)
                        .and_then(|i| names.get(i + 1))
                        .map(|n| (*n).to_owned()),
                };
                effects(f.restart())
            }
            FilesAction::Mark => {
                let Some(id) = f.selected().map(|r| r.id) else {
                    return vec![];
                };
                toggle(&mut f.marked, id);
                let mut out = self.marked_recount();
                out.extend(self.files_move(|c, _| c + 1));
                out
            }
            FilesAction::MarkRange => self.mark_range(),
            FilesAction::MarkAll => {
                f.marked = Marked::Matching {
                    filter: f.shown_filter(),
                    exclude: BTreeSet::new(),
                    count: f.count,
                };
                f.range_from = None;
                self.marked_recount()
            }
            FilesAction::ClearMarks => {
                // Marks first; with none, the `/` filter goes.
                if f.marked.is_empty() && f.range_from.is_none() {
                    if f.name.value().is_empty() {
                        return vec![];
                    }
                    f.name.reset();
                    return effects(f.restart());
                }
                f.marked = Marked::Nothing;
                f.range_from = None;
                vec![]
            }
            FilesAction::Edit => match f.selected() {
                Some(file) => vec![Effect::Files(FilesRequest::OpenEdit { file: file.id })],
                None => vec![],
            },
            FilesAction::Preview => {
                f.preview_open = !f.preview_open;
                self.files_preview_effects()
            }
            FilesAction::Send
            | FilesAction::Share
            | FilesAction::BatchAdd
            | FilesAction::Delete
                if f.trash =>
            {
                f.notice = Some(
                    "these files are in the trash: R restores them first (T back to the library)"
                        .into(),
                );
                vec![]
            }
            FilesAction::BatchAdd => self.open_batch(),
            FilesAction::Send => self.open_send(),
            FilesAction::Share => self.open_share(),
            FilesAction::ToggleTrash => {
                f.trash = !f.trash;
                // Marks were of the other side.
                f.marked = Marked::Nothing;
                effects(f.restart())
            }
            FilesAction::ToggleDuplicates => {
                f.duplicates_only = !f.duplicates_only;
                effects(f.restart())
            }
            FilesAction::FilterCamera => {
                if f.camera.take().is_none() {
                    match f.selected().map(|file| file.camera.clone()) {
                        Some(Some(camera)) => f.camera = Some(camera),
                        Some(None) => {
                            f.notice = Some("this file does not say which camera took it".into());
                            return vec![];
                        }
                        None => return vec![],
                    }
                }
                effects(f.restart())
            }
            FilesAction::CycleTaken => {
                f.taken = match f.taken {
                    Some(span) => span.wider(),
                    None => match f.selected().map(|file| file.taken.clone()) {
                        Some(Some(taken)) => TakenSpan::day_of(&taken),
                        Some(None) => {
                            f.notice = Some("this file does not say when it was taken".into());
                            return vec![];
                        }
                        None => return vec![],
                    },
                };
                effects(f.restart())
            }
            FilesAction::Delete => match self.trash_selection() {
                Some((ids, filter, exclude)) => {
                    let selection = match (ids, filter) {
                        (Some(ids), _) => TrashSelection::Ids(ids),
                        (None, Some(filter)) if exclude.is_empty() => {
                            TrashSelection::Matching(filter)
                        }
                        (None, Some(filter)) => TrashSelection::MatchingExcept(filter, exclude),
                        (None, None) => return vec![],
                    };
                    self.trash_preview(TrashJob::Delete(selection))
                }
                None => vec![],
            },
            FilesAction::Restore if !f.trash => {
                f.notice = Some("R restores in the Trash view: T shows the trash".into());
                vec![]
            }
            FilesAction::Restore => match self.trash_selection() {
                Some((Some(ids), _, _)) => {
                    self.trash_preview(TrashJob::Restore(RestoreSelection::Ids(ids)))
                }
                Some((None, Some(filter), exclude)) => {
                    self.trash_preview(TrashJob::Restore(RestoreSelection::Matching {
                        filter,
                        exclude,
                    }))
                }
                _ => vec![],
            },
        }
    }

    /// What a delete or restore takes: the marked files (by id, or a filter less some), else
    /// the highlighted one. `None` (with a notice) when there is nothing.
    #[allow(clippy::type_complexity)]
    fn trash_selection(
        &mut self,
    ) -> Option<(
        Option<Vec<FileId>>,
        Option<crate::library::organise::FileFilter>,
        Vec<FileId>,
    )> {
        let f = &mut self.files;
        match &f.marked {
            Marked::Ids(ids) if !ids.is_empty() => {
                Some((Some(ids.iter().copied().collect()), None, vec![]))
            }
            Marked::Matching {
                filter, exclude, ..
            } => Some((
                None,
                Some(filter.clone()),
                exclude.iter().copied().collect(),
            )),
            _ => match f.selected() {
                Some(file) => Some((Some(vec![file.id]), None, vec![])),
                None => {
                    f.notice = Some("no file here".into());
                    None
                }
            },
        }
    }

    /// Ask the library what `job` would do; its confirmation opens with the answer.
    fn trash_preview(&mut self, job: TrashJob) -> Vec<Effect> {
        self.status = Some(format!("counting what {} takes…", job.verb()));
        vec![Effect::Files(FilesRequest::TrashPreview(job))]
    }

    /// The confirmation said yes.
    pub(crate) fn trash_confirmed(&mut self, job: TrashJob) -> Vec<Effect> {
        self.dialog = None;
        self.status = Some(match &job {
            TrashJob::Restore(_) => "restoring…".to_owned(),
            _ => "moving to the trash…".to_owned(),
        });
        vec![Effect::Files(FilesRequest::Trash(job))]
    }

    /// `U` in the Dropbox queue: undo the selected row's import batch (`import undo BATCH`).
    pub(crate) fn undo_batch(&mut self) -> Vec<Effect> {
        self.dirty = true;
        let row = self
            .queue_rows()
            .get(self.queue.cursor)
            .map(|r| (r.batch, r.file));
        match row {
            Some((Some(batch), _)) => self.trash_preview(TrashJob::Undo(batch)),
            Some((None, Some(_))) => {
                self.last_problem =
                    Some("still reading this file's import batch; try again in a moment".into());
                self.queue_batches()
            }
            Some((None, None)) => {
                self.last_problem = Some(
                    "this row brought no file into the library: there is no import to undo".into(),
                );
                vec![]
            }
            None => vec![],
        }
    }

    /// Read the import batch of imported queue rows (one read out at a time).
    pub(crate) fn queue_batches(&mut self) -> Vec<Effect> {
        self.queue
            .batches_to_read()
            .map(|files| vec![Effect::Files(FilesRequest::Batches(files))])
            .unwrap_or_default()
    }

    fn files_preview_effects(&mut self) -> Vec<Effect> {
        let f = &mut self.files;
        if !f.preview_open {
            return vec![];
        }
        let Some(file) = f.rows.get(f.cursor).cloned() else {
            return vec![];
        };
        f.previews
            .want(&file)
            .map(|r| vec![Effect::Files(FilesRequest::Preview(r))])
            .unwrap_or_default()
    }

    /// Everything-matching marks are counted by the store (less what was unticked).
    fn marked_recount(&mut self) -> Vec<Effect> {
        match &mut self.files.marked {
            Marked::Matching {
                filter,
                exclude,
                count,
            } => {
                *count = None;
                vec![Effect::Files(FilesRequest::Count {
                    seq: 0,
                    filter: filter.clone(),
                    exclude: exclude.iter().copied().collect(),
                    purpose: CountPurpose::Marked,
                })]
            }
            _ => vec![],
        }
    }

    /// First `v` marks where a range starts; the second marks every file from there to here.
    fn mark_range(&mut self) -> Vec<Effect> {
        let f = &mut self.files;
        let Some(here) = f.selected().cloned() else {
            return vec![];
        };
        let Some(from) = f.range_from.take() else {
            f.range_from = Some(here);
            f.notice = Some("range started: move, then press v again".into());
            return vec![];
        };
        let a = f.rows.iter().position(|r| r.id == from.id);
        let b = f.cursor;
        if let Some(a) = a {
            // Both ends are in the window: no read needed.
            let ids: Vec<FileId> = f.rows[a.min(b)..=a.max(b)].iter().map(|r| r.id).collect();
            mark_all(&mut f.marked, &ids);
            return self.marked_recount();
        }
        vec![Effect::Files(FilesRequest::Range {
            filter: f.shown_filter(),
            order: f.order,
            from: Cursor::of(&from, f.order.sort),
            to: Cursor::of(&here, f.order.sort),
        })]
    }

    /// The account a batch goes to: the scoped one, else the one every marked file is in.
    pub(crate) fn batch_account(&self) -> Option<String> {
        if let Some(scope) = &self.files.scope {
            return Some(scope.clone());
        }
        let Marked::Ids(ids) = &self.files.marked else {
            return None;
        };
        let mut accounts = self
            .files
            .rows
            .iter()
            .filter(|r| ids.contains(&r.id))
            .map(|r| r.account_name.as_str());
        let first = accounts.next()?;
        let seen = self
            .files
            .rows
            .iter()
            .filter(|r| ids.contains(&r.id))
            .count();
        (seen == ids.len() && accounts.all(|a| a == first)).then(|| first.to_owned())
    }

    fn open_batch(&mut self) -> Vec<Effect> {
        if self.files.marked.is_empty() {
            self.files.notice =
                Some("mark files first: Space marks one, v a range, * all that match".into());
            return vec![];
        }
        match self.batch_account() {
            Some(account) => vec![Effect::Files(FilesRequest::OpenBatch { account })],
            None => {
                self.files.notice = Some(
                    "collections belong to one account: pick it in the Accounts pane (1) first"
                        .into(),
                );
                vec![]
            }
        }
    }

    /// Batch add's confirmation: the marked files (by id, or all matching) go to the store.
    pub(crate) fn batch_add_request(
        &mut self,
        account: String,
        collection: String,
        create: bool,
    ) -> Vec<Effect> {
        let selection = match &self.files.marked {
            Marked::Nothing => return vec![],
            Marked::Ids(ids) => FileSelection::Ids(ids.iter().copied().collect()),
            Marked::Matching {
                filter, exclude, ..
            } => FileSelection::Matching {
                filter: filter.clone(),
                exclude: exclude.iter().copied().collect(),
            },
        };
        vec![Effect::Files(FilesRequest::BatchAdd {
            account,
            collection,
            create,
            selection,
        })]
    }

    /// An answer from the worker.
    pub fn apply_files(&mut self, reply: FilesReply) -> Vec<Effect> {
        self.dirty = true;
        let f = &mut self.files;
        match reply {
            FilesReply::Window {
                seq,
                rows,
                anchor_index,
                at_start,
                at_end,
                fuzzy,
            } => {
                let mut out =
                    effects(f.apply_window(seq, rows, anchor_index, at_start, at_end, fuzzy));
                out.extend(self.files_preview_effects());
                out
            }
            FilesReply::NoSubstringMatch { seq } => {
                f.apply_no_substring_match(seq);
                vec![]
            }
            FilesReply::Count {
                seq,
                count,
                purpose,
            } => {
                f.apply_count(seq, count, purpose);
                if let Some(Dialog::Batch(d)) = &mut self.dialog
                    && d.files.is_none()
                {
                    d.files = f.marked.count();
                }
                vec![]
            }
            FilesReply::Range(ids) => {
                mark_all(&mut f.marked, &ids);
                self.marked_recount()
            }
            FilesReply::EditOpened(data) => {
                self.dialog = Some(Dialog::Edit(Box::new(EditDialog::new(*data))));
                vec![]
            }
            FilesReply::BatchOpened {
                account,
                collections,
            } => {
                let count = f.marked.count();
                self.dialog = Some(Dialog::Batch(Box::new(BatchDialog::new(
                    account,
                    collections,
                    count,
                ))));
                vec![]
            }
            FilesReply::Collections {
                account,
                collections,
            } => {
                if f.scope.as_deref() == Some(account.as_str()) {
                    f.collections = collections;
                }
                vec![]
            }
            FilesReply::Edited { file, edit } => {
                if matches!(self.dialog, Some(Dialog::Edit(_))) {
                    self.dialog = None;
                }
                let mut parts = vec![];
                if !edit.added_to.is_empty() {
                    parts.push(format!("added to {}", edit.added_to.join(", ")));
                }
                if !edit.removed_from.is_empty() {
                    parts.push(format!("taken out of {}", edit.removed_from.join(", ")));
                }
                f.notice = Some(if parts.is_empty() {
                    format!("{file}: nothing changed")
                } else {
                    format!("{file}: {}", parts.join("; "))
                });
                self.files_after_write()
            }
            FilesReply::BatchAdded(outcome) => {
                if matches!(self.dialog, Some(Dialog::Batch(_))) {
                    self.dialog = None;
                }
                f.marked = Marked::Nothing;
                f.notice = Some(format!(
                    "added {} file{} to {}{} in {} ({} already there)",
                    outcome.added,
                    if outcome.added == 1 { "" } else { "s" },
                    outcome.collection,
                    if outcome.created { " (new)" } else { "" },
                    outcome.account,
                    outcome.already_in_collection
                ));
                self.files_after_write()
            }
            FilesReply::Preview(reply) => {
                f.previews.insert(reply);
                vec![]
            }
            FilesReply::TrashPreviewed { job, outcome } => {
                self.status = None;
                if outcome.files == 0 {
                    f.notice = Some(
                        match job {
                            TrashJob::Restore(_) => {
                                "nothing to restore: none of these is in the trash"
                            }
                            _ => "nothing to move: these files are in the trash already",
                        }
                        .into(),
                    );
                    self.last_problem = f.notice.clone();
                    return vec![];
                }
                self.dialog = Some(Dialog::Trash(Box::new(TrashConfirm {
                    job,
                    outcome,
                    purge_after_days: f.purge_after_days,
                })));
                vec![]
            }
            FilesReply::Trashed { job, outcome } => {
                let what = files_and_bytes(outcome.files, outcome.bytes);
                let done = match &job {
                    TrashJob::Delete(_) => format!("moved {what} to the trash (T shows it)"),
                    TrashJob::Restore(_) => format!("restored {what}"),
                    TrashJob::Undo(batch) => {
                        format!("import batch {batch} undone: {what} moved to the trash")
                    }
                };
                f.marked = Marked::Nothing;
                f.range_from = None;
                f.notice = Some(done.clone());
                self.status = Some(done);
                self.files_after_write()
            }
            FilesReply::TrashRefused { verb, why } => {
                self.status = None;
                self.dialog = Some(Dialog::notice(
                    "Not done",
                    format!("Could not {verb}: {why}"),
                ));
                vec![]
            }
            FilesReply::Batches { asked, found } => {
                self.queue.batches_read(&asked, &found);
                self.queue_batches()
            }
            FilesReply::Failed(why) => {
                // A dialog that was saving may be tried again.
                match &mut self.dialog {
                    Some(Dialog::Edit(d)) => d.saving = false,
                    Some(Dialog::Batch(d)) => d.saving = false,
                    _ => {}
                }
                self.last_problem = Some(why);
                vec![]
            }
        }
    }

    /// Collections and memberships changed: the rows and the collection list are read again.
    fn files_after_write(&mut self) -> Vec<Effect> {
        let mut out = self.files.reload();
        if let Some(account) = self.files.scope.clone() {
            out.push(FilesRequest::Collections { account });
        }
        let mut out = effects(out);
        out.push(Effect::Refresh);
        out
    }
}

/// Carry out `effects` at once on this thread, and whatever the answers ask for next, until
/// All Files is settled; returns the effects that are not All Files' (tests and benchmarks
/// drive the pane this way, without threads or timing).
pub fn serve_now(
    app: &mut App,
    library: &mut Library,
    actor: &Actor,
    effects: Vec<Effect>,
) -> Vec<Effect> {
    let mut pending = std::collections::VecDeque::from(effects);
    let mut others = vec![];
    while let Some(effect) = pending.pop_front() {
        match effect {
            Effect::Files(request) => {
                let mut first = vec![];
                let reply = worker::serve(library, actor, request, &mut |early| first.push(early));
                for early in first {
                    pending.extend(app.apply_files(early));
                }
                if let Some(reply) = reply {
                    pending.extend(app.apply_files(reply));
                }
            }
            other => others.push(other),
        }
    }
    others
}
