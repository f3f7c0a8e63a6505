//! Everything that speaks Dropbox. Knows nothing about the Smartimage library.

pub mod arg_header;
pub mod content_hash;
pub mod local;
pub mod wire;
pub mod backend;
pub mod verified_body;
pub mod pacer;
pub mod auth;
pub mod token_file;
pub mod api;
