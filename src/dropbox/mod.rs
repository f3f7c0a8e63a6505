//! Everything that speaks Dropbox. Knows nothing about the Smartimage library.

pub mod api;
pub mod arg_header;
pub mod auth;
pub mod backend;
pub mod content_hash;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod folder_name;
pub mod local;
pub mod pacer;
pub mod sending;
pub mod system_files;
pub mod token_file;
pub mod verified_body;
pub mod wire;
