//! The console's one dialog system: at most one dialog over the panes, and it gets every key
//! first. Account actions: a text field (synced folder path, Dropbox code), the API link page
//! with its QR code, a yes/no question, an admin picker, a notice. All Files: the pencil and
//! batch add (`collections.rs`), Upload… (`upload.rs`), Send to Dropbox and shared link
//! (`send.rs`). Key handling here is pure: a key changes the dialog or yields what to run.
//! Every dialog is drawn through one popup helper (`draw::popup`).

pub mod collections;
pub mod draw;
mod draw_collections;
mod draw_send;
pub mod keys;
pub mod send;
pub mod trash;
pub mod upload;

use crate::library::ids::FileId;
use std::path::PathBuf;

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

use super::actions::{ConsoleAction, Secret};
use crate::library::model::CollectionId;
use crate::library::store::links::LinkState;
use collections::{BatchDialog, CollectionsOutcome, EditDialog};
use send::{SendDialog, SendJob, SendOutcome, SentDialog, ShareDialog};
use trash::{TrashConfirm, TrashKey};
use upload::{UploadDialog, UploadOutcome};

pub enum Dialog {
    /// The synced Dropbox folder to link `account` to. `Tab` completes the path (off the
    /// UI task); `candidates` are the matches when there were several.
    LinkFolder {
        account: String,
        field: Input,
        candidates: Vec<String>,
    },
    /// The API flow: open `url` (or scan `qr`), allow access, paste the code Dropbox shows.
    ApiLink {
        account: String,
        url: String,
        /// The URL as QR rows, made once (`None`: too long for a QR code).
        qr: Option<Vec<String>>,
        field: Input,
        /// The code was sent; waiting for Dropbox.
        checking: bool,
        /// Why the last code was refused: the dialog stays open for another.
        error: Option<String>,
    },
    /// Asks before `action` (unlink).
    Confirm {
        question: String,
        action: ConsoleAction,
    },
    /// Pick an admin of `account` to delegate Dropbox linking to (or to revoke).
    PickAdmin {
        account: String,
        revoke: bool,
        choices: Vec<String>,
        selected: usize,
    },
    /// A denial or a failure, in full.
    Notice { title: String, text: String },
    /// Upload files from this machine's disk into All Files.
    Upload(UploadDialog),
    /// Send files of All Files to the account's Dropbox downloads folder.
    Send(SendDialog),
    /// What a send did.
    Sent(SentDialog),
    /// A Dropbox shared link, as text and as a QR code.
    Share(ShareDialog),
    /// All Files' pencil: one file's details and the collections it is in.
    Edit(Box<EditDialog>),
    /// All Files' batch add: the marked files to one collection.
    Batch(Box<BatchDialog>),
    /// Delete, restore or undo an import: how many files, how big; Enter confirms.
    Trash(Box<TrashConfirm>),
}

/// What a key did to the open dialog.
#[derive(Debug, PartialEq, Eq)]
pub enum DialogOutcome {
    Stay,
    Close,
    Run(ConsoleAction),
    /// The Upload… field wants its last path completed (`complete`) and its files counted.
    UploadLookup {
        text: String,
        complete: bool,
    },
    /// Send files to Dropbox, or share them, off the UI task.
    Send(SendJob),
    /// Complete the path in the link-folder field, off the UI task.
    CompletePath(String),
    /// Save the pencil: the file is in these collections, and in these new ones. The dialog
    /// stays (saving) until the answer.
    SaveEdit {
        file: FileId,
        keep: Vec<CollectionId>,
        create: Vec<String>,
    },
    /// Add the marked files of `account` to `collection` (made first if `create`).
    BatchAdd {
        account: String,
        collection: String,
        create: bool,
    },
    /// Do the confirmed delete, restore or undo.
    Trash(trash::TrashJob),
}

impl From<SendOutcome> for DialogOutcome {
    fn from(outcome: SendOutcome) -> DialogOutcome {
        match outcome {
            SendOutcome::Stay => DialogOutcome::Stay,
            SendOutcome::Close => DialogOutcome::Close,
            SendOutcome::Run(job) => DialogOutcome::Send(*job),
        }
    }
}

impl From<UploadOutcome> for DialogOutcome {
    fn from(outcome: UploadOutcome) -> DialogOutcome {
        match outcome {
            UploadOutcome::Stay => DialogOutcome::Stay,
            UploadOutcome::Close => DialogOutcome::Close,
            UploadOutcome::Lookup { text, complete } => {
                DialogOutcome::UploadLookup { text, complete }
            }
            UploadOutcome::Run(action) => DialogOutcome::Run(action),
        }
    }
}

impl Dialog {
    pub fn link_folder(account: &str, suggestion: Option<&str>) -> Dialog {
        Dialog::LinkFolder {
            account: account.to_owned(),
            field: Input::new(suggestion.unwrap_or_default().to_owned()),
            candidates: vec![],
        }
    }

    pub fn api_link(account: &str, url: String) -> Dialog {
        Dialog::ApiLink {
            account: account.to_owned(),
            qr: super::qr::lines(&url),
            url,
            field: Input::default(),
            checking: false,
            error: None,
        }
    }

    pub fn confirm_unlink(account: &str) -> Dialog {
        Dialog::Confirm {
            question: format!(
                "Unlink {account} from Dropbox? Files already imported stay in All Files; nothing in Dropbox is touched. Linking again starts a fresh listing."
            ),
            action: ConsoleAction::SetLinkState {
                account: account.to_owned(),
                state: LinkState::Unlinked,
            },
        }
    }

    pub fn confirm_pause(account: &str) -> Dialog {
        Dialog::Confirm {
            question: format!(
                "Pause the imports of {account}? Files dropped into its Dropbox folder wait there until it is resumed (the same key resumes); nothing is lost."
            ),
            action: ConsoleAction::SetLinkState {
                account: account.to_owned(),
                state: LinkState::Paused,
            },
        }
    }

    pub fn notice(title: &str, text: impl Into<String>) -> Dialog {
        Dialog::Notice {
            title: title.to_owned(),
            text: text.into(),
        }
    }

    /// The keys this dialog takes now (`keys.rs`), for the footer and its own hint line.
    pub fn keys(&self) -> &'static [keys::DialogKey] {
        match self {
            Dialog::Edit(d) => d.picker.keys(keys::EDIT),
            Dialog::Batch(d) if d.target.is_some() => keys::BATCH_CONFIRM,
            Dialog::Batch(d) => d.picker.keys(keys::BATCH_PICK),
            Dialog::Confirm { .. } => keys::CONFIRM,
            Dialog::Notice { .. } => keys::NOTICE,
            Dialog::LinkFolder { .. } => keys::LINK_FOLDER,
            Dialog::ApiLink { .. } => keys::API_LINK,
            Dialog::PickAdmin { .. } => keys::PICK_ADMIN,
            Dialog::Upload(upload) if upload.account.is_none() => keys::UPLOAD_NO_ACCOUNT,
            Dialog::Upload(_) => keys::UPLOAD,
            Dialog::Send(_) => keys::SEND,
            Dialog::Sent(sent) if sent.share.is_some() => keys::SENT_SHARE,
            Dialog::Sent(_) => keys::SENT,
            Dialog::Share(_) => keys::SHARE,
            Dialog::Trash(_) => keys::TRASH_CONFIRM,
        }
    }

    /// Apply a key press.
    pub fn handle_key(&mut self, key: KeyEvent) -> DialogOutcome {
        // The collections dialogs use Esc themselves first (leave the name or filter field,
        // go back from a confirmation).
        match self {
            Dialog::Edit(d) => {
                let file = d.data.file.id;
                return match d.key(key) {
                    CollectionsOutcome::Stay => DialogOutcome::Stay,
                    CollectionsOutcome::Cancel => DialogOutcome::Close,
                    CollectionsOutcome::SaveEdit { keep, create } => {
                        DialogOutcome::SaveEdit { file, keep, create }
                    }
                    CollectionsOutcome::BatchAdd { .. } => DialogOutcome::Stay,
                };
            }
            Dialog::Batch(d) => {
                let account = d.account.clone();
                return match d.key(key) {
                    CollectionsOutcome::Stay | CollectionsOutcome::SaveEdit { .. } => {
                        DialogOutcome::Stay
                    }
                    CollectionsOutcome::Cancel => DialogOutcome::Close,
                    CollectionsOutcome::BatchAdd { collection, create } => {
                        DialogOutcome::BatchAdd {
                            account,
                            collection,
                            create,
                        }
                    }
                };
            }
            Dialog::Trash(d) => {
                return match d.key(key) {
                    TrashKey::Stay => DialogOutcome::Stay,
                    TrashKey::Cancel => DialogOutcome::Close,
                    TrashKey::Confirm(job) => DialogOutcome::Trash(job),
                };
            }
            _ => {}
        }
        if key.code == KeyCode::Esc {
            return DialogOutcome::Close;
        }
        match self {
            Dialog::LinkFolder {
                account,
                field,
                candidates,
            } => {
                if key.code == KeyCode::Tab {
                    return DialogOutcome::CompletePath(field.value().to_owned());
                }
                candidates.clear();
                if key.code == KeyCode::Enter {
                    let path = field.value().trim();
                    if path.is_empty() {
                        return DialogOutcome::Stay;
                    }
                    return DialogOutcome::Run(ConsoleAction::LinkFolder {
                        account: account.clone(),
                        root: expand_home(path),
                    });
                }
                edit(field, key);
                DialogOutcome::Stay
            }
            Dialog::ApiLink {
                account,
                field,
                checking,
                error,
                ..
            } => {
                if *checking {
                    return DialogOutcome::Stay;
                }
                if key.code == KeyCode::Enter {
                    let code = field.value().trim();
                    if code.is_empty() {
                        return DialogOutcome::Stay;
                    }
                    *checking = true;
                    *error = None;
                    return DialogOutcome::Run(ConsoleAction::FinishApiLink {
                        account: account.clone(),
                        code: Secret::new(code),
                    });
                }
                edit(field, key);
                DialogOutcome::Stay
            }
            Dialog::Confirm { action, .. } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                    DialogOutcome::Run(action.clone())
                }
                KeyCode::Char('n') | KeyCode::Char('N') => DialogOutcome::Close,
                _ => DialogOutcome::Stay,
            },
            Dialog::PickAdmin {
                account,
                revoke,
                choices,
                selected,
            } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => {
                    *selected = selected.saturating_sub(1);
                    DialogOutcome::Stay
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *selected = (*selected + 1).min(choices.len().saturating_sub(1));
                    DialogOutcome::Stay
                }
                KeyCode::Enter => match choices.get(*selected) {
                    Some(email) => DialogOutcome::Run(ConsoleAction::Delegate {
                        account: account.clone(),
                        email: email.clone(),
                        revoke: *revoke,
                    }),
                    None => DialogOutcome::Close,
                },
                _ => DialogOutcome::Stay,
            },
            Dialog::Notice { .. } => match key.code {
                KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char(' ') => DialogOutcome::Close,
                _ => DialogOutcome::Stay,
            },
            Dialog::Upload(upload) => upload.handle_key(key).into(),
            Dialog::Send(send) => send.handle_key(key).into(),
            Dialog::Sent(sent) => sent.handle_key(key).into(),
            Dialog::Share(share) => share.handle_key(key).into(),
            Dialog::Edit(_) | Dialog::Batch(_) | Dialog::Trash(_) => DialogOutcome::Stay,
        }
    }

    /// The link-folder field's Tab completion came back (for the text `asked`).
    pub fn path_completed(&mut self, asked: &str, value: String, matches: Vec<String>) {
        if let Dialog::LinkFolder {
            field, candidates, ..
        } = self
            && field.value() == asked
        {
            *field = Input::new(value);
            *candidates = matches;
        }
    }

    /// Pasted text (bracketed paste) goes into the field, if the dialog has one.
    pub fn paste(&mut self, text: &str) -> DialogOutcome {
        if let Dialog::Upload(upload) = self {
            return upload.paste(text).into();
        }
        if let Dialog::Send(send) = self {
            send.paste(text);
        }
        if let Dialog::LinkFolder { field, .. } | Dialog::ApiLink { field, .. } = self {
            // One line only: a pasted newline must not submit or corrupt the value.
            for c in text.chars().filter(|c| !c.is_control()) {
                field.handle(InputRequest::InsertChar(c));
            }
        }
        DialogOutcome::Stay
    }
}

fn edit(field: &mut Input, key: KeyEvent) {
    if let Some(request) = to_input_request(&Event::Key(key)) {
        field.handle(request);
    }
}

/// `~/x` means the home directory, as in a shell.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn type_text(d: &mut Dialog, text: &str) {
        for c in text.chars() {
            assert_eq!(d.handle_key(key(KeyCode::Char(c))), DialogOutcome::Stay);
        }
    }

    #[test]
    fn the_folder_field_takes_typing_and_enter_links_that_folder() {
        let mut d = Dialog::link_folder("Acme", None);
        assert_eq!(d.handle_key(key(KeyCode::Enter)), DialogOutcome::Stay);
        type_text(&mut d, "/srv/Dropboz");
        d.handle_key(key(KeyCode::Backspace));
        type_text(&mut d, "x");
        assert_eq!(
            d.handle_key(key(KeyCode::Enter)),
            DialogOutcome::Run(ConsoleAction::LinkFolder {
                account: "Acme".into(),
                root: "/srv/Dropbox".into()
            })
        );
    }

    /// Issue 18: no Tab completion in the link-folder field.
    #[test]
    fn tab_in_the_folder_field_asks_for_a_completion_and_the_answer_fills_it() {
        let mut d = Dialog::link_folder("Acme", None);
        type_text(&mut d, "/srv/Dr");
        assert_eq!(
            d.handle_key(key(KeyCode::Tab)),
            DialogOutcome::CompletePath("/srv/Dr".into())
        );
        d.path_completed("/srv/Dr", "/srv/Dropbox/".into(), vec![]);
        // An answer for text since changed is dropped.
        d.path_completed("/srv/D", "/srv/Dx/".into(), vec![]);
        assert_eq!(
            d.handle_key(key(KeyCode::Enter)),
            DialogOutcome::Run(ConsoleAction::LinkFolder {
                account: "Acme".into(),
                root: "/srv/Dropbox/".into()
            })
        );
    }

    #[test]
    fn pause_asks_first_and_n_keeps_importing() {
        let mut d = Dialog::confirm_pause("Acme");
        assert_eq!(d.handle_key(key(KeyCode::Char('n'))), DialogOutcome::Close);
        assert!(matches!(
            d.handle_key(key(KeyCode::Char('y'))),
            DialogOutcome::Run(ConsoleAction::SetLinkState {
                state: LinkState::Paused,
                ..
            })
        ));
    }

    #[test]
    fn q_and_j_are_text_in_a_field_and_esc_cancels() {
        let mut d = Dialog::api_link("Acme", "https://example.com/a".into());
        type_text(&mut d, "qj ");
        d.paste("code\n42");
        let Dialog::ApiLink { field, .. } = &d else {
            unreachable!()
        };
        assert_eq!(field.value(), "qj code42");
        assert_eq!(d.handle_key(key(KeyCode::Esc)), DialogOutcome::Close);
    }

    #[test]
    fn the_code_is_submitted_trimmed_and_never_printed() {
        let mut d = Dialog::api_link("Acme", "https://example.com/a".into());
        d.paste("  s3cr3t-code ");
        let DialogOutcome::Run(action) = d.handle_key(key(KeyCode::Enter)) else {
            panic!("no action")
        };
        assert!(!format!("{action:?}").contains("s3cr3t"));
        let ConsoleAction::FinishApiLink { code, .. } = action else {
            panic!("{action:?}")
        };
        assert_eq!(code.expose(), "s3cr3t-code");
    }

    #[test]
    fn unlink_asks_first_and_n_keeps_the_link() {
        let mut d = Dialog::confirm_unlink("Acme");
        assert_eq!(d.handle_key(key(KeyCode::Char('x'))), DialogOutcome::Stay);
        assert_eq!(d.handle_key(key(KeyCode::Char('n'))), DialogOutcome::Close);
        assert!(matches!(
            d.handle_key(key(KeyCode::Char('y'))),
            DialogOutcome::Run(ConsoleAction::SetLinkState {
                state: LinkState::Unlinked,
                ..
            })
        ));
    }

    #[test]
    fn the_picker_moves_within_its_choices_and_enter_picks() {
        let mut d = Dialog::PickAdmin {
            account: "Acme".into(),
            revoke: false,
            choices: vec!["ada@acme.test".into(), "dan@acme.test".into()],
            selected: 0,
        };
        d.handle_key(key(KeyCode::Down));
        d.handle_key(key(KeyCode::Down));
        assert_eq!(
            d.handle_key(key(KeyCode::Enter)),
            DialogOutcome::Run(ConsoleAction::Delegate {
                account: "Acme".into(),
                email: "dan@acme.test".into(),
                revoke: false
            })
        );
        let mut empty = Dialog::PickAdmin {
            account: "Acme".into(),
            revoke: true,
            choices: vec![],
            selected: 0,
        };
        assert_eq!(empty.handle_key(key(KeyCode::Enter)), DialogOutcome::Close);
    }
}
