//! The dialogs of sending files to Dropbox from All Files: Send (what goes, to which folder,
//! an optional subfolder), what a send did (with a key to share the folder), and a shared link
//! (the URL as text and as a QR code). Key handling only; drawing is in `draw_send.rs`.

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

use crate::export::folders::join_subfolder;
use crate::export::{ExportRequest, ShareRequest, ShareTarget};
use crate::library::outgoing::OutgoingSelection;

/// The key that shares what a send just sent, as the Share key of All Files.
pub const SHARE_FOLDER_KEY: char = 'L';

/// What runs off the UI task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendJob {
    Export(ExportRequest),
    Share(ShareRequest),
}

/// The Sent dialog's hint for its share key.
pub fn share_folder_hint() -> String {
    format!("{SHARE_FOLDER_KEY} shares the folder")
}

pub struct SendDialog {
    pub account: String,
    /// What goes, as a person says it ("3 marked files", "hero.png").
    pub what: String,
    pub selection: OutgoingSelection,
    /// The account's downloads folder (`/Acme (from Smartimage)`).
    pub downloads: String,
    /// A folder inside the downloads folder; empty: none (a collection: one named after it).
    pub subfolder: Input,
}

/// What a key asks of the console.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Stay,
    Close,
    /// Boxed: a job carries a whole file filter.
    Run(Box<SendJob>),
}

impl SendDialog {
    pub fn new(
        account: String,
        what: String,
        selection: OutgoingSelection,
        downloads: String,
    ) -> SendDialog {
        SendDialog {
            account,
            what,
            selection,
            downloads,
            subfolder: Input::default(),
        }
    }

    fn subfolder(&self) -> Option<String> {
        let typed = self.subfolder.value().trim();
        (!typed.is_empty()).then(|| typed.to_owned())
    }

    /// Where the files land, as the export engine names it.
    pub fn destination(&self) -> String {
        let sub = self.subfolder().or(match &self.selection {
            OutgoingSelection::Collection(name) => Some(name.clone()),
            _ => None,
        });
        match sub {
            Some(sub) => join_subfolder(&self.downloads, &sub),
            None => self.downloads.clone(),
        }
    }

    pub fn request(&self) -> ExportRequest {
        ExportRequest {
            account: self.account.clone(),
            selection: self.selection.clone(),
            subfolder: self.subfolder(),
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> SendOutcome {
        match key.code {
            KeyCode::Esc => SendOutcome::Close,
            KeyCode::Enter => SendOutcome::Run(Box::new(SendJob::Export(self.request()))),
            _ => {
                if let Some(request) = to_input_request(&Event::Key(key)) {
                    self.subfolder.handle(request);
                }
                SendOutcome::Stay
            }
        }
    }

    /// One line only: a pasted newline must not submit or corrupt the value.
    pub fn paste(&mut self, text: &str) {
        for c in text.chars().filter(|c| !c.is_control()) {
            self.subfolder.handle(InputRequest::InsertChar(c));
        }
    }
}

/// What a finished send did.
pub struct SentDialog {
    pub title: String,
    pub lines: Vec<String>,
    /// All went wrong: drawn as a failure.
    pub failed: bool,
    /// Shares the folder the files went to (when any arrived).
    pub share: Option<ShareRequest>,
}

impl SentDialog {
    pub fn handle_key(&mut self, key: KeyEvent) -> SendOutcome {
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char(' ') => {
                SendOutcome::Close
            }
            KeyCode::Char(SHARE_FOLDER_KEY) => match &self.share {
                Some(request) => SendOutcome::Run(Box::new(SendJob::Share(request.clone()))),
                None => SendOutcome::Stay,
            },
            _ => SendOutcome::Stay,
        }
    }

    /// Shares `folder` of `account` (an app-folder path inside its downloads folder).
    pub fn share_folder(account: &str, folder: &str) -> ShareRequest {
        ShareRequest {
            account: account.to_owned(),
            target: ShareTarget::Path(folder.to_owned()),
        }
    }
}

/// A shared link: the URL as text and as a QR code.
pub struct ShareDialog {
    /// What the link points at (app-folder path).
    pub path: String,
    pub url: String,
    /// The URL as QR rows, made once (`None`: too long for a QR code).
    pub qr: Option<Vec<String>>,
    /// `false`: the link existed and was reused.
    pub created: bool,
}

impl ShareDialog {
    pub fn new(path: String, url: String, created: bool) -> ShareDialog {
        ShareDialog {
            qr: crate::tui::qr::lines(&url),
            path,
            url,
            created,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> SendOutcome {
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => SendOutcome::Close,
            _ => SendOutcome::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::ids::FileId;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn dialog(selection: OutgoingSelection) -> SendDialog {
        SendDialog::new(
            "Acme".into(),
            "2 marked files".into(),
            selection,
            "/Acme (from Smartimage)".into(),
        )
    }

    #[test]
    fn a_typed_subfolder_is_where_the_files_go_and_enter_sends_there() {
        let mut d = dialog(OutgoingSelection::Ids(vec![FileId(1), FileId(2)]));
        assert_eq!(d.destination(), "/Acme (from Smartimage)");
        for c in "Picks/../x".chars() {
            assert_eq!(d.handle_key(key(KeyCode::Char(c))), SendOutcome::Stay);
        }
        d.paste("\nq");
        assert_eq!(d.destination(), "/Acme (from Smartimage)/Picks/xq");
        assert_eq!(
            d.handle_key(key(KeyCode::Enter)),
            SendOutcome::Run(Box::new(SendJob::Export(ExportRequest {
                account: "Acme".into(),
                selection: OutgoingSelection::Ids(vec![FileId(1), FileId(2)]),
                subfolder: Some("Picks/../xq".into()),
            })))
        );
    }

    #[test]
    fn a_collection_goes_to_its_own_subfolder_unless_one_is_typed() {
        let mut d = dialog(OutgoingSelection::Collection("Summer".into()));
        assert_eq!(d.destination(), "/Acme (from Smartimage)/Summer");
        d.paste("Best");
        assert_eq!(d.destination(), "/Acme (from Smartimage)/Best");
    }

    #[test]
    fn esc_cancels_with_nothing_sent() {
        let mut d = dialog(OutgoingSelection::Ids(vec![FileId(1)]));
        assert_eq!(d.handle_key(key(KeyCode::Esc)), SendOutcome::Close);
    }

    #[test]
    fn the_share_key_after_a_send_shares_its_folder() {
        let mut sent = SentDialog {
            title: "Sent".into(),
            lines: vec![],
            failed: false,
            share: Some(SentDialog::share_folder(
                "Acme",
                "/Acme (from Smartimage)/Summer",
            )),
        };
        assert!(matches!(
            sent.handle_key(key(KeyCode::Char(SHARE_FOLDER_KEY))),
            SendOutcome::Run(job) if matches!(*job, SendJob::Share(_))
        ));
        assert_eq!(sent.handle_key(key(KeyCode::Esc)), SendOutcome::Close);
    }
}
