//! One file per pane; each only reads [`super::app::App`] and draws into its area.

pub mod accounts;
pub mod errors;
pub mod file_dialogs;
pub mod file_preview;
pub mod files;
pub mod help;
pub mod queue;
