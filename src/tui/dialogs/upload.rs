//! The Upload… dialog of All Files: a path field (Tab completes on the server), what the paths
//! hold (counted off the UI task), and the account the files go to. Enter uploads, Esc cancels.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::{Input, InputRequest};

use crate::import::upload::UploadPreview;
use crate::tui::actions::ConsoleAction;
use crate::tui::paste_paths;

/// What is known about the paths in the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Typed since the last count: Tab counts again.
    Stale,
    /// Counting (or completing) `asked`.
    Pending { asked: String },
    /// What `value` held.
    Ready {
        value: String,
        preview: Result<UploadPreview, String>,
    },
}

pub struct UploadDialog {
    /// Where the files go (`None`: *All accounts* is selected, so none yet).
    pub account: Option<String>,
    pub field: Input,
    pub lookup: Lookup,
    /// Entries the last Tab matched, when it matched several.
    pub candidates: Vec<String>,
}

/// What a key (or a paste) asks of the event loop.
#[derive(Debug, PartialEq, Eq)]
pub enum UploadOutcome {
    Stay,
    Close,
    /// Complete the field's last path (`complete`) and count what the field holds.
    Lookup {
        text: String,
        complete: bool,
    },
    Run(ConsoleAction),
}

impl UploadDialog {
    pub fn new(account: Option<&str>, paths: &[PathBuf]) -> UploadDialog {
        UploadDialog {
            account: account.map(str::to_owned),
            field: Input::new(paste_paths::join(paths)),
            lookup: Lookup::Stale,
            candidates: vec![],
        }
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        paste_paths::parse_paths(self.field.value())
    }

    /// Ask for a count of what the field holds (after opening or a paste).
    pub fn count(&mut self) -> UploadOutcome {
        self.lookup(false)
    }

    fn lookup(&mut self, complete: bool) -> UploadOutcome {
        let text = self.field.value().to_owned();
        if text.trim().is_empty() {
            self.lookup = Lookup::Stale;
            return UploadOutcome::Stay;
        }
        self.lookup = Lookup::Pending {
            asked: text.clone(),
        };
        UploadOutcome::Lookup { text, complete }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> UploadOutcome {
        match key.code {
            KeyCode::Esc => UploadOutcome::Close,
            KeyCode::Tab => self.lookup(true),
            KeyCode::Enter => {
                let paths = self.paths();
                match (&self.account, paths.is_empty()) {
                    (Some(account), false) => UploadOutcome::Run(ConsoleAction::Upload {
                        account: account.clone(),
                        paths,
                    }),
                    _ => UploadOutcome::Stay,
                }
            }
            _ => {
                let before = self.field.value().to_owned();
                super::edit(&mut self.field, key);
                if self.field.value() != before {
                    self.lookup = Lookup::Stale;
                    self.candidates.clear();
                }
                UploadOutcome::Stay
            }
        }
    }

    /// Pasted paths go in at the cursor, quoted as the field writes them, and are counted.
    pub fn paste(&mut self, text: &str) -> UploadOutcome {
        let paths = paste_paths::parse_paths(text);
        if paths.is_empty() {
            return UploadOutcome::Stay;
        }
        let mut insert = paste_paths::join(&paths);
        let value = self.field.value();
        let cursor = self.field.cursor();
        let before = value.chars().nth(cursor.wrapping_sub(1));
        if cursor > 0 && before.is_some_and(|c| !c.is_whitespace()) {
            insert.insert(0, ' ');
        }
        for c in insert.chars() {
            self.field.handle(InputRequest::InsertChar(c));
        }
        self.candidates.clear();
        self.count()
    }

    /// A completion and count came back for `asked`; ignored if the field changed meanwhile.
    pub fn looked_up(
        &mut self,
        asked: &str,
        value: String,
        candidates: Vec<String>,
        preview: Result<UploadPreview, String>,
    ) {
        if self.lookup
            != (Lookup::Pending {
                asked: asked.to_owned(),
            })
        {
            return;
        }
        if value != self.field.value() {
            self.field = Input::new(value.clone());
        }
        self.candidates = candidates;
        self.lookup = Lookup::Ready { value, preview };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn enter_uploads_the_parsed_paths_to_the_account_and_needs_both() {
        let mut d = UploadDialog::new(Some("Acme"), &[PathBuf::from("/srv/My Photos")]);
        assert_eq!(d.field.value(), "'/srv/My Photos'");
        d.handle_key(key(KeyCode::Char(' ')));
        for c in "/srv/b.jpg".chars() {
            d.handle_key(key(KeyCode::Char(c)));
        }
        assert_eq!(
            d.handle_key(key(KeyCode::Enter)),
            UploadOutcome::Run(ConsoleAction::Upload {
                account: "Acme".into(),
                paths: vec!["/srv/My Photos".into(), "/srv/b.jpg".into()],
            })
        );
        let mut nowhere = UploadDialog::new(None, &[PathBuf::from("/srv/a.jpg")]);
        assert_eq!(nowhere.handle_key(key(KeyCode::Enter)), UploadOutcome::Stay);
        let mut empty = UploadDialog::new(Some("Acme"), &[]);
        assert_eq!(empty.handle_key(key(KeyCode::Enter)), UploadOutcome::Stay);
        assert_eq!(empty.handle_key(key(KeyCode::Tab)), UploadOutcome::Stay);
        assert_eq!(empty.handle_key(key(KeyCode::Esc)), UploadOutcome::Close);
    }

    #[test]
    fn tab_asks_for_a_completion_and_a_late_answer_for_old_text_is_dropped() {
        let mut d = UploadDialog::new(Some("Acme"), &[]);
        for c in "/srv/ph".chars() {
            d.handle_key(key(KeyCode::Char(c)));
        }
        assert_eq!(
            d.handle_key(key(KeyCode::Tab)),
            UploadOutcome::Lookup {
                text: "/srv/ph".into(),
                complete: true
            }
        );
        d.handle_key(key(KeyCode::Char('x')));
        assert_eq!(d.lookup, Lookup::Stale);
        d.looked_up(
            "/srv/ph",
            "/srv/photos/".into(),
            vec![],
            Ok(Default::default()),
        );
        assert_eq!(d.field.value(), "/srv/phx");
        d.handle_key(key(KeyCode::Backspace));
        d.handle_key(key(KeyCode::Tab));
        let preview = UploadPreview {
            files: 2,
            bytes: 10,
            first: vec!["/srv/photos/a.jpg".into()],
        };
        d.looked_up(
            "/srv/ph",
            "/srv/photos/".into(),
            vec![],
            Ok(preview.clone()),
        );
        assert_eq!(d.field.value(), "/srv/photos/");
        assert_eq!(
            d.lookup,
            Lookup::Ready {
                value: "/srv/photos/".into(),
                preview: Ok(preview)
            }
        );
    }

    #[test]
    fn a_paste_adds_quoted_paths_after_a_space_and_counts_them() {
        let mut d = UploadDialog::new(Some("Acme"), &[PathBuf::from("/a.jpg")]);
        let outcome = d.paste("file:///srv/two%20words.png\n");
        assert_eq!(d.field.value(), "/a.jpg '/srv/two words.png'");
        assert_eq!(
            outcome,
            UploadOutcome::Lookup {
                text: "/a.jpg '/srv/two words.png'".into(),
                complete: false
            }
        );
        assert_eq!(d.paste(" \n"), UploadOutcome::Stay);
    }
}
