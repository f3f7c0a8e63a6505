//! Every key the console understands, declared once. Key handling, the footer and the `?` help
//! overlay are all read from [`BINDINGS`], so they cannot drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::pane_id::PaneId;

/// What the All Files keys mean (see [`BINDINGS`] for which key is which).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilesAction {
    CycleSort,
    ReverseSort,
    FilterName,
    ToggleDropbox,
    CycleKind,
    CycleCollection,
    Mark,
    MarkRange,
    MarkAll,
    ClearMarks,
    Edit,
    BatchAdd,
    Preview,
    /// Send the marked files (or the highlighted one) to Dropbox (`tui/sending.rs`).
    Send,
    /// A Dropbox shared link to the highlighted file (or the `*`-marked collection).
    Share,
    /// Show the trash instead of the library, or the library again (issue #22).
    ToggleTrash,
    /// Only files that are duplicates of an older file of their account.
    ToggleDuplicates,
    /// Only files from the highlighted file's camera, or every camera again.
    FilterCamera,
    /// Only files taken on the highlighted file's day, then its month, its year, then any time.
    CycleTaken,
    /// Move the marked files (or the highlighted one) to the trash, after a confirmation.
    Delete,
    /// In the Trash view: bring the marked files (or the highlighted one) back.
    Restore,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    FocusNext,
    FocusPrev,
    Focus(PaneId),
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    ToggleHelp,
    CloseOverlay,
    Quit,
    Suspend,
    ToggleDetail,
    RetryItem,
    RetryAccount,
    ScanNow,
    /// Start the import engine in this console (offered when none runs).
    HostEngine,
    // Accounts pane actions (dialogs in `dialogs/`, run by `actions.rs`).
    LinkApi,
    LinkFolder,
    Unlink,
    PauseResume,
    Delegate,
    Revoke,
    /// All Files: upload files from the server's disk (`dialogs/upload.rs`).
    Upload,
    ToggleMouse,
    /// Give the focused pane the whole screen, or give the others back.
    Zoom,
    /// In the Dropbox authorize dialog: copy the authorize page's address to the clipboard
    /// (OSC 52, through SSH too).
    CopyLink,
    /// Dropbox queue: move the files of the selected row's import batch to the trash.
    UndoBatch,
    /// All Files keys.
    Files(FilesAction),
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Global,
    Pane(PaneId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn key(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}
const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in the footer and help ("j/↓").
    pub label: &'static str,
    pub help: &'static str,
    /// The footer's shorter word for it.
    pub hint: &'static str,
    pub action: Action,
    pub scope: Scope,
    /// Shown in the footer (the help overlay shows every binding).
    pub footer: bool,
}

pub static BINDINGS: &[Binding] = &[
    Binding {
        keys: &[code(KeyCode::Tab)],
        label: "Tab",
        help: "next pane",
        hint: "pane",
        action: Action::FocusNext,
        scope: Scope::Global,
        footer: true,
    },
    Binding {
        keys: &[code(KeyCode::BackTab)],
        label: "S-Tab",
        help: "previous pane",
        hint: "previous pane",
        action: Action::FocusPrev,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('1')],
        label: "1",
        help: "Accounts pane",
        hint: "Accounts pane",
        action: Action::Focus(PaneId::Accounts),
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('2')],
        label: "2",
        help: "Dropbox queue pane",
        hint: "Dropbox queue pane",
        action: Action::Focus(PaneId::Queue),
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('3')],
        label: "3",
        help: "All Files pane",
        hint: "All Files pane",
        action: Action::Focus(PaneId::Files),
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('4')],
        label: "4",
        help: "Error log pane",
        hint: "Error log pane",
        action: Action::Focus(PaneId::Errors),
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('k'), code(KeyCode::Up)],
        label: "k/↑",
        help: "move up",
        hint: "move up",
        action: Action::Up,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('j'), code(KeyCode::Down)],
        label: "j/↓",
        help: "move down",
        hint: "move",
        action: Action::Down,
        scope: Scope::Global,
        footer: true,
    },
    Binding {
        keys: &[key('h'), code(KeyCode::Left)],
        label: "h/←",
        help: "previous pane",
        hint: "previous pane",
        action: Action::FocusPrev,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('l'), code(KeyCode::Right)],
        label: "l/→",
        help: "next pane",
        hint: "pane",
        action: Action::FocusNext,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[code(KeyCode::PageUp)],
        label: "PgUp",
        help: "page up",
        hint: "page up",
        action: Action::PageUp,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[code(KeyCode::PageDown)],
        label: "PgDn",
        help: "page down",
        hint: "page down",
        action: Action::PageDown,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('g'), code(KeyCode::Home)],
        label: "g",
        help: "first row",
        hint: "first row",
        action: Action::First,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('G'), code(KeyCode::End)],
        label: "G",
        help: "last row",
        hint: "last row",
        action: Action::Last,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('s')],
        label: "s",
        help: "scan Dropbox now",
        hint: "scan",
        action: Action::ScanNow,
        scope: Scope::Pane(PaneId::Queue),
        footer: true,
    },
    Binding {
        keys: &[key('U')],
        label: "U",
        help: "undo the import batch (asks)",
        hint: "undo import",
        action: Action::UndoBatch,
        scope: Scope::Pane(PaneId::Queue),
        footer: true,
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        help: "error details on/off",
        hint: "details",
        action: Action::ToggleDetail,
        scope: Scope::Pane(PaneId::Errors),
        footer: true,
    },
    Binding {
        keys: &[key('r')],
        label: "r",
        help: "retry the selected file",
        hint: "retry",
        action: Action::RetryItem,
        scope: Scope::Pane(PaneId::Errors),
        footer: true,
    },
    Binding {
        keys: &[key('R')],
        label: "R",
        help: "retry all of the account",
        hint: "retry all",
        action: Action::RetryAccount,
        scope: Scope::Pane(PaneId::Errors),
        footer: true,
    },
    // All Files.
    Binding {
        keys: &[key('/')],
        label: "/",
        help: "filter by name",
        hint: "filter",
        action: Action::Files(FilesAction::FilterName),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[key('d')],
        label: "d",
        help: "Dropbox uploads only",
        hint: "Dropbox only",
        action: Action::Files(FilesAction::ToggleDropbox),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[key('t')],
        label: "t",
        help: "filter by kind",
        hint: "kind",
        action: Action::Files(FilesAction::CycleKind),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('o')],
        label: "o",
        help: "filter by collection",
        hint: "collection",
        action: Action::Files(FilesAction::CycleCollection),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('s')],
        label: "s",
        help: "sort date/name/size/kind/taken",
        hint: "sort",
        action: Action::Files(FilesAction::CycleSort),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('S')],
        label: "S",
        help: "reverse the sort",
        hint: "reverse",
        action: Action::Files(FilesAction::ReverseSort),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[code(KeyCode::Char(' '))],
        label: "Space",
        help: "mark / unmark",
        hint: "mark",
        action: Action::Files(FilesAction::Mark),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[key('v')],
        label: "v",
        help: "mark a range",
        hint: "range",
        action: Action::Files(FilesAction::MarkRange),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('*')],
        label: "*",
        help: "mark all matching",
        hint: "all",
        action: Action::Files(FilesAction::MarkAll),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[code(KeyCode::Esc)],
        label: "Esc",
        help: "clear marks, then filter",
        hint: "clear marks",
        action: Action::Files(FilesAction::ClearMarks),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('e')],
        label: "e",
        help: "edit file, collections",
        hint: "edit",
        action: Action::Files(FilesAction::Edit),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[key('c')],
        label: "c",
        help: "add marked to collection",
        hint: "add to collection",
        action: Action::Files(FilesAction::BatchAdd),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        // Not `x`: the documented `[keys]` example gives `x` to quit.
        keys: &[key('X')],
        label: "X",
        help: "send to Dropbox",
        hint: "send",
        action: Action::Files(FilesAction::Send),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('L')],
        label: "L",
        help: "share link (or * collection)",
        hint: "share",
        action: Action::Files(FilesAction::Share),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('T')],
        label: "T",
        help: "Trash view on/off",
        hint: "trash",
        action: Action::Files(FilesAction::ToggleTrash),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[key('=')],
        label: "=",
        help: "duplicates only",
        hint: "duplicates",
        action: Action::Files(FilesAction::ToggleDuplicates),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('C')],
        label: "C",
        help: "this file's camera only",
        hint: "camera",
        action: Action::Files(FilesAction::FilterCamera),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('w')],
        label: "w",
        help: "taken: its day/month/year",
        hint: "when taken",
        action: Action::Files(FilesAction::CycleTaken),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('D'), code(KeyCode::Delete)],
        label: "D/Del",
        help: "delete to the trash (asks)",
        hint: "delete",
        action: Action::Files(FilesAction::Delete),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[key('R')],
        label: "R",
        help: "restore from the trash",
        hint: "restore",
        action: Action::Files(FilesAction::Restore),
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[key('p')],
        label: "p",
        help: "image preview",
        hint: "preview",
        action: Action::Files(FilesAction::Preview),
        scope: Scope::Pane(PaneId::Files),
        footer: false,
    },
    Binding {
        keys: &[key('a')],
        label: "a",
        help: "link via the Dropbox API",
        hint: "link",
        action: Action::LinkApi,
        scope: Scope::Pane(PaneId::Accounts),
        footer: true,
    },
    Binding {
        keys: &[key('f')],
        label: "f",
        help: "link a synced Dropbox folder",
        hint: "folder",
        action: Action::LinkFolder,
        scope: Scope::Pane(PaneId::Accounts),
        footer: true,
    },
    Binding {
        keys: &[key('u')],
        label: "u",
        help: "unlink Dropbox (asks first)",
        hint: "unlink",
        action: Action::Unlink,
        scope: Scope::Pane(PaneId::Accounts),
        footer: true,
    },
    Binding {
        keys: &[key('p')],
        label: "p",
        help: "pause (asks first) / resume",
        hint: "pause",
        action: Action::PauseResume,
        scope: Scope::Pane(PaneId::Accounts),
        footer: true,
    },
    Binding {
        keys: &[key('d')],
        label: "d",
        help: "delegate linking to an admin",
        hint: "delegate",
        action: Action::Delegate,
        scope: Scope::Pane(PaneId::Accounts),
        footer: true,
    },
    Binding {
        keys: &[key('D')],
        label: "D",
        help: "revoke a delegation",
        hint: "revoke",
        action: Action::Revoke,
        scope: Scope::Pane(PaneId::Accounts),
        footer: false,
    },
    Binding {
        keys: &[key('u')],
        label: "u",
        help: "upload files from this server",
        hint: "upload",
        action: Action::Upload,
        scope: Scope::Pane(PaneId::Files),
        footer: true,
    },
    Binding {
        keys: &[key('H')],
        label: "H",
        help: "host the engine here",
        hint: "host the engine here",
        action: Action::HostEngine,
        scope: Scope::Global,
        // Offered in the footer only while no engine runs (`App::host_offer`).
        footer: false,
    },
    Binding {
        keys: &[key('m')],
        label: "m",
        help: "mouse on/off",
        hint: "mouse",
        action: Action::ToggleMouse,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('z')],
        label: "z",
        help: "zoom this pane to the screen",
        hint: "zoom",
        action: Action::Zoom,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[ctrl('y')],
        label: "C-y",
        help: "copy the Dropbox link page",
        hint: "copy the page",
        action: Action::CopyLink,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('?')],
        label: "?",
        help: "show or hide this help",
        hint: "help",
        action: Action::ToggleHelp,
        scope: Scope::Global,
        footer: true,
    },
    Binding {
        keys: &[code(KeyCode::Esc)],
        label: "Esc",
        help: "close help or details",
        hint: "close help or details",
        action: Action::CloseOverlay,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[ctrl('z')],
        label: "C-z",
        help: "suspend (fg resumes)",
        hint: "suspend (fg resumes)",
        action: Action::Suspend,
        scope: Scope::Global,
        footer: false,
    },
    Binding {
        keys: &[key('q'), ctrl('c')],
        label: "q",
        help: "quit (files in flight finish)",
        hint: "quit",
        action: Action::Quit,
        scope: Scope::Global,
        footer: true,
    },
];

pub(crate) fn matches(k: &Key, event: &KeyEvent) -> bool {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    // Shift is part of the character ('G', '?') or of BackTab itself; only Ctrl tells keys apart.
    let code = match event.code {
        KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
        other => other,
    };
    k.code == code && k.ctrl == ctrl
}
