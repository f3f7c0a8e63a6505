//! Smartimage terminal console — the library crate.
//!
//! Layers, top to bottom (arrows point down only): `tui` and the binary use `import`,
//! `export`, `library` and `dropbox`; `import` and `export` use `library` and `dropbox`;
//! `library` and `dropbox` never use each other.

pub mod config;
pub mod dropbox;
pub mod export;
pub mod import;
pub mod library;
pub mod pipelined_hash;
pub mod qr_text;
pub mod terminal_text;
pub mod tui;
