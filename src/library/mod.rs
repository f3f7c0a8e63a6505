//! The Smartimage side: accounts, plans, admins, files, collections — and the rules that
//! guard them. Knows nothing about Dropbox or terminals.

pub mod actions;
pub mod adopt;
pub mod backup;
pub mod blobs;
pub mod browse;
pub mod check;
pub mod collection_edit;
pub mod custody;
pub mod engine_control;
pub mod engine_view;
pub mod error;
pub mod file_info;
pub mod formats;
pub mod ids;
pub mod import_log;
pub mod ingest;
pub mod linking;
pub mod liveness;
pub mod local_source;
pub mod metadata;
pub mod model;
pub mod names;
pub mod notifications;
pub mod organise;
pub mod outgoing;
pub mod permissions;
pub mod policy;
pub mod privacy;
pub mod store;
pub mod trash;

pub use actions::Library;
pub use error::LibraryError;
