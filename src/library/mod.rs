//! The Smartimage side: accounts, plans, admins, files, collections — and the rules that
//! guard them. Knows nothing about Dropbox or terminals.

pub mod actions;
pub mod blobs;
pub mod error;
pub mod formats;
pub mod names;
pub mod permissions;
pub mod policy;
pub mod store;
