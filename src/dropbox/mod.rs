//! Everything that speaks Dropbox. Knows nothing about the Smartimage library.

pub mod arg_header;
pub mod content_hash;
pub mod wire;

#[cfg(feature = "emulator")]
pub mod emulator;
