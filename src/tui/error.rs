//! What can go wrong in the console, by what failed. Each renders to the sentence the admin
//! reads (the footer's notice, a dialog's error line): the library's, the linker's or the
//! upload's own text, or one of ours.

/// A console action, read or link step that failed. `Display` is the admin's sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    /// The library at the data dir could not be opened.
    #[error("{0}")]
    OpenLibrary(String),
    /// The acting admin is not known to the library (or not who the OS user may act as).
    #[error("{0}")]
    UnknownAdmin(String),
    /// Reading what the panes show failed.
    #[error("{0}")]
    Read(String),
    /// The library refused an action (a right, a rule) or failed doing it.
    #[error("{0}")]
    Refused(String),
    /// Linking a Dropbox account failed (the folder, Dropbox, the store).
    #[error("{0}")]
    Link(String),
    /// Dropbox did not take the authorization code pasted into the link dialog.
    #[error(
        "Dropbox did not accept that code: it is mistyped, expired (a code lasts a few \
         minutes) or used already. Copy the code the page shows and paste it again."
    )]
    CodeRefused,
    /// A code was pasted for a link this console did not start (or already finished).
    #[error("the Dropbox link of {account} was not started in this console; start it again")]
    LinkNotStarted { account: String },
    /// Linking through the Dropbox API needs the app key, and none is set.
    #[error(
        "linking through the Dropbox API needs the app key: set SMARTIMAGE_DROPBOX_APP_KEY or \
         [dropbox] app_key in the config file, then open the console again"
    )]
    MissingAppKey,
    /// A direct upload could not start or failed as a whole (each file's fate is its own event).
    #[error("{0}")]
    Upload(String),
}

impl ConsoleError {
    /// The error's sentence, for a `String` field that shows it.
    pub fn sentence(&self) -> String {
        self.to_string()
    }
}
