//! Smartimage terminal console — the library crate.
//!
//! Layers, top to bottom (a module uses only lower ones; ARCHITECTURE.md, enforced by
//! `tests/architecture.rs`): the binary; `tui`; `config`; `import` and `export`; `library` and
//! `dropbox`, which never use each other; the helpers `pipelined_hash`, `terminal_text`,
//! `qr_text`.

pub mod config;
pub mod dropbox;
pub mod export;
pub mod import;
pub mod library;
pub mod notify;
pub mod pipelined_hash;
pub mod qr_text;
pub mod terminal_text;
pub mod tui;
