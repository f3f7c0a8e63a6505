//! Smartimage terminal console — the library crate.
//!
//! Layers, top to bottom (arrows point down only): `tui` and the binary use `import`,
//! `library` and `dropbox`; `import` uses `library` and `dropbox`; `library` and `dropbox`
//! never use each other.

pub mod config;
pub mod dropbox;
pub mod import;
pub mod library;
pub mod pipelined_hash;
pub mod terminal_text;
pub mod tui;
