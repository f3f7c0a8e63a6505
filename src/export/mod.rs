//! The way back: sending library files to an account's Dropbox (export) and sharing them
//! (Dropbox shared links). Engine layer, beside `import`: uses `library` and `dropbox`, never
//! the console. Files go to a downloads folder *beside* the account's import folder
//! (`/Acme (from Smartimage)/`), which the import scan never lists, so nothing sent out is
//! ever imported back.
//!
//! For a front end: build an [`ExportRequest`] or a [`ShareRequest`], call
//! [`export_checked`] or [`share_checked`] (the right checked before Dropbox is opened, then
//! [`open_backend`] and [`export`] or [`share`]) and render the [`ExportEvent`]s it sends.

pub mod backends;
pub mod checked;
pub mod engine;
pub mod events;
pub mod folders;
pub mod request;
pub mod share;

pub use backends::open_backend;
pub use checked::{export_checked, share_checked};
pub use engine::{ExportError, ExportSummary, export};
pub use events::ExportEvent;
pub use request::{ExportRequest, ShareRequest, ShareTarget};
pub use share::{ShareOutcome, share};
