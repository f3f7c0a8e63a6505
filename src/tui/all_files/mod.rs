//! All Files: the state behind the virtual table — a window of rows read page-wise from the
//! store around what is on screen, the filters and the marked files (its dialogs are `App`'s,
//! in `dialogs/collections.rs`). Pure
//! like the rest of `App`: reads and writes go out as [`FilesRequest`]s and come back as
//! [`FilesReply`]s from the worker (`worker.rs`).

pub mod keys;
pub mod names;
pub mod preview;
pub mod worker;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use ratatui::layout::Rect;
use ratatui_image::picker::Picker;
use ratatui_image::protocol::Protocol;
use tui_input::Input;

use crate::library::browse::FileOrder;
use crate::library::collection_edit::CollectionEdit;
use crate::library::formats::FileKind;
use crate::library::model::{BatchId, Collection, CollectionId, FileId, FileRecord, Source};
use crate::library::organise::{BatchAddOutcome, FileFilter, FileSelection};
use crate::library::store::SortKey;
use crate::library::store::file_pages::Cursor;
use crate::library::store::files::TrashFilter;
use crate::library::trash::{DEFAULT_PURGE_AFTER_DAYS, TrashOutcome};
pub use crate::tui::dialogs::trash::{RestoreSelection, TrashJob};

use preview::PreviewCache;

/// Rows read around the visible ones, per screenful on each side, so scrolling rarely waits.
pub const SCREENS_AROUND: usize = 2;
/// Visible rows assumed before the first frame tells the real number.
pub const DEFAULT_VIEWPORT: usize = 20;
/// The kinds `t` cycles through (as the format table names them).
pub const KINDS: [FileKind; 5] = FileKind::ALL;

/// Where a window read is anchored.
#[derive(Clone, Debug, PartialEq)]
pub enum Anchor {
    First,
    Last,
    /// This row (or the next one, if it no longer matches) and rows on both sides.
    At(Cursor),
}

/// What the pane asks the worker for.
#[derive(Clone, Debug, PartialEq)]
pub enum FilesRequest {
    /// Rows around `anchor`: `before` rows before it, `after` from it on.
    Window {
        seq: u64,
        filter: FileFilter,
        order: FileOrder,
        anchor: Anchor,
        before: u32,
        after: u32,
    },
    /// How many files match (less `exclude`); slow filters take a while, so it comes later.
    Count {
        seq: u64,
        filter: FileFilter,
        exclude: Vec<FileId>,
        purpose: CountPurpose,
    },
    /// Ids of the files from `from` to `to` inclusive in list order (a `v` range).
    Range {
        filter: FileFilter,
        order: FileOrder,
        from: Cursor,
        to: Cursor,
    },
    /// Details and the account's collections, for the edit dialog.
    OpenEdit {
        file: FileId,
    },
    /// The account's collections, for the batch dialog.
    OpenBatch {
        account: String,
    },
    SaveEdit {
        file: FileId,
        keep: Vec<CollectionId>,
        create: Vec<String>,
    },
    BatchAdd {
        account: String,
        collection: String,
        create: bool,
        selection: FileSelection,
    },
    /// The collections of the scoped account, for the collection filter.
    Collections {
        account: String,
    },
    Preview(preview::PreviewRequest),
    /// What a trash job would do (a dry run through the library), for its confirmation.
    TrashPreview(TrashJob),
    /// Do the confirmed trash job.
    Trash(TrashJob),
    /// The import batch of each of these files (the Dropbox queue shows it).
    Batches(Vec<FileId>),
}

/// A range of capture days the `w` filter keeps: the day, month or year of one file's capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TakenSpan {
    Day(time::Date),
    Month(time::Date),
    Year(time::Date),
}

impl TakenSpan {
    /// The day of a capture time (`YYYY-MM-DDTHH:MM:SS`).
    pub fn day_of(taken: &str) -> Option<TakenSpan> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(taken.get(..10)?, &format)
            .ok()
            .map(TakenSpan::Day)
    }

    /// `w` again: the day widens to its month, the month to its year, the year to any time.
    pub fn wider(self) -> Option<TakenSpan> {
        match self {
            TakenSpan::Day(d) => Some(TakenSpan::Month(d)),
            TakenSpan::Month(d) => Some(TakenSpan::Year(d)),
            TakenSpan::Year(_) => None,
        }
    }

    fn bounds(self) -> (time::Date, time::Date) {
        use time::{Date, Month};
        match self {
            TakenSpan::Day(d) => (d, d),
            TakenSpan::Month(d) => (
                d.replace_day(1).unwrap_or(d),
                d.replace_day(d.month().length(d.year())).unwrap_or(d),
            ),
            TakenSpan::Year(d) => (
                Date::from_calendar_date(d.year(), Month::January, 1).unwrap_or(d),
                Date::from_calendar_date(d.year(), Month::December, 31).unwrap_or(d),
            ),
        }
    }

    fn day_text(day: time::Date) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        day.format(&format).unwrap_or_default()
    }

    /// The first and last day (`YYYY-MM-DD`) the library's filter takes.
    pub fn first_day(self) -> String {
        Self::day_text(self.bounds().0)
    }

    pub fn last_day(self) -> String {
        Self::day_text(self.bounds().1)
    }

    /// As the title shows it: `2024-05-12`, `2024-05`, `2024`.
    pub fn label(self) -> String {
        let day = self.first_day();
        match self {
            TakenSpan::Day(_) => day,
            TakenSpan::Month(_) => day[..7].to_owned(),
            TakenSpan::Year(_) => day[..4].to_owned(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountPurpose {
    /// The matching count in the title.
    Matching,
    /// How many files `*` marked.
    Marked,
}

/// What the worker answers.
#[derive(Debug)]
pub enum FilesReply {
    Window {
        seq: u64,
        rows: Vec<FileRecord>,
        /// Index in `rows` of the anchor row.
        anchor_index: usize,
        at_start: bool,
        at_end: bool,
        /// The name matched nothing as a substring; these are fuzzy matches.
        fuzzy: bool,
    },
    /// Sent before a fuzzy read: nothing contains the typed text (the rows empty at once, so a
    /// keystroke never waits for the slower fuzzy walk to show its answer).
    NoSubstringMatch {
        seq: u64,
    },
    Count {
        seq: u64,
        count: u64,
        purpose: CountPurpose,
    },
    Range(Vec<FileId>),
    EditOpened(Box<super::dialogs::collections::EditData>),
    BatchOpened {
        account: String,
        collections: Vec<Collection>,
    },
    Edited {
        file: String,
        edit: CollectionEdit,
    },
    BatchAdded(BatchAddOutcome),
    Collections {
        account: String,
        collections: Vec<Collection>,
    },
    Preview(preview::PreviewReply),
    /// What a trash job would do: its confirmation opens.
    TrashPreviewed {
        job: TrashJob,
        outcome: TrashOutcome,
    },
    /// A trash job was done.
    Trashed {
        job: TrashJob,
        outcome: TrashOutcome,
    },
    /// The library refused or failed a trash job (`verb` names it).
    TrashRefused {
        verb: String,
        why: String,
    },
    /// `found`: `(file, batch)` for the files `asked` about that have one.
    Batches {
        asked: Vec<FileId>,
        found: Vec<(FileId, BatchId)>,
    },
    Failed(String),
}

/// The marked files: ids, or everything matching a filter (held as the filter, not as ids).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Marked {
    #[default]
    Nothing,
    Ids(BTreeSet<FileId>),
    Matching {
        filter: FileFilter,
        exclude: BTreeSet<FileId>,
        /// `None` while it is being counted.
        count: Option<u64>,
    },
}

impl Marked {
    pub fn contains(&self, id: FileId) -> bool {
        match self {
            Marked::Nothing => false,
            Marked::Ids(ids) => ids.contains(&id),
            Marked::Matching { exclude, .. } => !exclude.contains(&id),
        }
    }

    /// How many are marked (`None` while a filter's count is being read).
    pub fn count(&self) -> Option<u64> {
        match self {
            Marked::Nothing => Some(0),
            Marked::Ids(ids) => Some(ids.len() as u64),
            Marked::Matching { count, .. } => *count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count() == Some(0)
    }
}

pub struct AllFiles {
    pub order: FileOrder,
    /// The name filter (`/`).
    pub name: Input,
    /// Keys go to the name field.
    pub typing: bool,
    pub dropbox_only: bool,
    pub kind: Option<FileKind>,
    pub collection: Option<String>,
    /// The Trash view: the rows are the files in the trash (`T`).
    pub trash: bool,
    /// Only duplicates (`=`).
    pub duplicates_only: bool,
    /// Only this camera's files (`C`, from the highlighted file).
    pub camera: Option<String>,
    /// Only files taken in this span (`w`, from the highlighted file's capture time).
    pub taken: Option<TakenSpan>,
    /// `[trash] purge_after_days`, for what the delete confirmation says.
    pub purge_after_days: u64,
    /// The name matched nothing as a substring; the rows are fuzzy matches.
    pub fuzzy: bool,
    /// Nothing contains the typed text; the fuzzy matches are being looked for.
    pub seeking_fuzzy: bool,
    /// The window: rows read around the visible ones, in list order.
    pub rows: Vec<FileRecord>,
    /// Index in `rows` of the first visible row.
    pub top: usize,
    /// Index in `rows` of the selected row.
    pub cursor: usize,
    pub at_start: bool,
    pub at_end: bool,
    /// Files matching the filters; `None` while counting.
    pub count: Option<u64>,
    pub marked: Marked,
    /// Where a `v` range started.
    pub range_from: Option<FileRecord>,
    /// The newest window read asked for; older answers are dropped.
    pub seq: u64,
    /// The newest count asked for.
    pub count_seq: u64,
    /// A window read is out; another is asked for only when it is back.
    pub loading: bool,
    /// Something changed while a read was out (new imports): read again when it is back.
    pub reload_pending: bool,
    /// Which account the rows are for (the Accounts pane's choice).
    pub scope: Option<String>,
    /// Collections of the scoped account (the collection filter cycles through them).
    pub collections: Vec<Collection>,
    /// Rows the table showed last frame (set while drawing).
    pub viewport: Cell<usize>,
    pub preview_open: bool,
    pub previews: PreviewCache,
    /// What the last action did, shown under the table.
    pub notice: Option<String>,
    /// `G` asked for the last page: select its last row when it comes.
    pub land_on_last: bool,
    /// How images are drawn: halfblocks, unless the terminal was asked for more
    /// (`SMARTIMAGE_PREVIEW=auto`, see [`preview::terminal_picker`]).
    pub picker: Picker,
    /// The preview last drawn, kept so a richer protocol does not resend the image each frame.
    pub drawn_preview: RefCell<Option<(FileId, Rect, Protocol)>>,
}

impl Default for AllFiles {
    fn default() -> Self {
        AllFiles {
            order: FileOrder {
                sort: SortKey::Imported,
                descending: true,
            },
            name: Input::default(),
            typing: false,
            dropbox_only: false,
            kind: None,
            collection: None,
            trash: false,
            duplicates_only: false,
            camera: None,
            taken: None,
            purge_after_days: DEFAULT_PURGE_AFTER_DAYS,
            fuzzy: false,
            seeking_fuzzy: false,
            rows: Vec::new(),
            top: 0,
            cursor: 0,
            at_start: true,
            at_end: true,
            count: None,
            marked: Marked::Nothing,
            range_from: None,
            seq: 0,
            count_seq: 0,
            loading: false,
            reload_pending: false,
            scope: None,
            collections: Vec::new(),
            viewport: Cell::new(DEFAULT_VIEWPORT),
            preview_open: false,
            previews: PreviewCache::default(),
            notice: None,
            land_on_last: false,
            picker: Picker::halfblocks(),
            drawn_preview: RefCell::new(None),
        }
    }
}

impl AllFiles {
    /// The filters as the library takes them.
    pub fn filter(&self) -> FileFilter {
        let name = self.name.value().trim();
        FileFilter {
            account: self.scope.clone(),
            source: self.dropbox_only.then_some(Source::Dropbox),
            collection: self.collection.clone(),
            kind: self.kind,
            name_contains: (!name.is_empty()).then(|| name.to_owned()),
            name_fuzzy: false,
            trash: if self.trash {
                TrashFilter::Trashed
            } else {
                TrashFilter::Live
            },
            duplicates_only: self.duplicates_only,
            camera: self.camera.clone(),
            taken_from: self.taken.map(|t| t.first_day()),
            taken_to: self.taken.map(|t| t.last_day()),
        }
    }

    /// Is any filter on (beyond the account)?
    pub fn filtered(&self) -> bool {
        let f = self.filter();
        f.source.is_some()
            || f.kind.is_some()
            || f.collection.is_some()
            || f.name_contains.is_some()
            || f.duplicates_only
            || f.camera.is_some()
            || f.taken_from.is_some()
    }

    /// The filter the rows on screen match (fuzzy if the substring found nothing).
    pub fn shown_filter(&self) -> FileFilter {
        FileFilter {
            name_fuzzy: self.fuzzy,
            ..self.filter()
        }
    }

    pub fn selected(&self) -> Option<&FileRecord> {
        self.rows.get(self.cursor)
    }

    fn viewport_rows(&self) -> usize {
        self.viewport.get().max(1)
    }

    /// Read the window again around the first visible row (filters unchanged): new imports
    /// appear without moving what is on screen.
    pub fn reload(&mut self) -> Vec<FilesRequest> {
        if self.loading {
            self.reload_pending = true;
            return vec![];
        }
        let anchor = match self.rows.get(self.top) {
            Some(row) if !(self.top == 0 && self.at_start) => {
                Anchor::At(Cursor::of(row, self.order.sort))
            }
            _ => Anchor::First,
        };
        let mut out = vec![self.window_request(anchor)];
        out.push(self.count_request());
        out
    }

    /// The filters or the order changed: start from the top, count again.
    pub fn restart(&mut self) -> Vec<FilesRequest> {
        self.rows.clear();
        self.top = 0;
        self.cursor = 0;
        self.count = None;
        // A count still out is for the old filters: its answer must not pass for the new.
        self.count_seq += 1;
        self.fuzzy = false;
        self.range_from = None;
        self.loading = false;
        self.reload_pending = false;
        vec![self.window_request(Anchor::First)]
    }

    fn window_request(&mut self, anchor: Anchor) -> FilesRequest {
        self.seq += 1;
        self.loading = true;
        let around = (self.viewport_rows() * SCREENS_AROUND) as u32;
        let (before, after) = match anchor {
            Anchor::First => (0, around + self.viewport_rows() as u32),
            Anchor::Last => (around + self.viewport_rows() as u32, 0),
            Anchor::At(_) => (around, around + self.viewport_rows() as u32),
        };
        FilesRequest::Window {
            seq: self.seq,
            filter: self.filter(),
            order: self.order,
            anchor,
            before,
            after,
        }
    }

    pub fn count_request(&mut self) -> FilesRequest {
        self.count_seq += 1;
        FilesRequest::Count {
            seq: self.count_seq,
            filter: self.shown_filter(),
            exclude: vec![],
            purpose: CountPurpose::Matching,
        }
    }

    /// A window read came back. Keeps the selected file selected and the first visible row
    /// where it was.
    /// The substring answer was empty; the fuzzy one follows under the same `seq`.
    pub fn apply_no_substring_match(&mut self, seq: u64) {
        if seq != self.seq {
            return;
        }
        self.rows.clear();
        (self.top, self.cursor) = (0, 0);
        (self.at_start, self.at_end) = (true, true);
        self.seeking_fuzzy = true;
    }

    pub fn apply_window(
        &mut self,
        seq: u64,
        rows: Vec<FileRecord>,
        anchor_index: usize,
        at_start: bool,
        at_end: bool,
        fuzzy: bool,
    ) -> Vec<FilesRequest> {
        if seq != self.seq {
            return vec![];
        }
        self.loading = false;
        self.seeking_fuzzy = false;
        let selected = self.selected().map(|f| f.id);
        // At the head of the list new rows show up on top; further down nothing moves.
        let at_head = self.top == 0 && self.at_start;
        let first_visible = self.rows.get(self.top).map(|f| f.id).filter(|_| !at_head);
        let was_fuzzy = self.fuzzy;
        self.fuzzy = fuzzy;
        self.rows = rows;
        self.at_start = at_start;
        self.at_end = at_end;
        self.top = first_visible
            .and_then(|id| self.rows.iter().position(|f| f.id == id))
            .unwrap_or(anchor_index.min(self.rows.len().saturating_sub(1)));
        self.cursor = selected
            .and_then(|id| self.rows.iter().position(|f| f.id == id))
            .unwrap_or(self.top);
        if std::mem::take(&mut self.land_on_last) {
            self.cursor = self.rows.len().saturating_sub(1);
        }
        self.clamp();
        let mut out = vec![];
        if self.count.is_none() || was_fuzzy != fuzzy {
            out.push(self.count_request());
        }
        if std::mem::take(&mut self.reload_pending) {
            out.extend(self.reload());
        }
        out
    }

    pub fn apply_count(&mut self, seq: u64, count: u64, purpose: CountPurpose) {
        match purpose {
            CountPurpose::Matching if seq == self.count_seq => self.count = Some(count),
            CountPurpose::Marked => {
                if let Marked::Matching { count: c, .. } = &mut self.marked {
                    *c = Some(count);
                }
            }
            CountPurpose::Matching => {}
        }
    }

    /// Keep the cursor on a row and visible; read more rows when it nears the window's edge.
    pub fn clamp(&mut self) {
        let len = self.rows.len();
        if len == 0 {
            self.top = 0;
            self.cursor = 0;
            return;
        }
        self.cursor = self.cursor.min(len - 1);
        let view = self.viewport_rows();
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + view {
            self.top = self.cursor + 1 - view;
        }
        self.top = self.top.min(len.saturating_sub(1));
    }

    /// After a move: read a new window if the visible rows come near an edge that is not the
    /// end of the list.
    pub fn follow(&mut self) -> Vec<FilesRequest> {
        if self.loading || self.rows.is_empty() {
            return vec![];
        }
        let view = self.viewport_rows();
        let near_end = !self.at_end && self.top + 2 * view > self.rows.len();
        let near_start = !self.at_start && self.top < view;
        if near_end || near_start {
            let anchor = Anchor::At(Cursor::of(&self.rows[self.top], self.order.sort));
            return vec![self.window_request(anchor)];
        }
        vec![]
    }

    /// Jump to the first or last page.
    pub fn jump(&mut self, last: bool) -> Vec<FilesRequest> {
        if !last && self.at_start {
            self.cursor = 0;
            self.top = 0;
            return vec![];
        }
        if last && self.at_end {
            self.cursor = self.rows.len().saturating_sub(1);
            self.clamp();
            return vec![];
        }
        self.rows.clear();
        self.top = 0;
        self.cursor = 0;
        self.land_on_last = last;
        vec![self.window_request(if last { Anchor::Last } else { Anchor::First })]
    }
}
