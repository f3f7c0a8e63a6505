//! The import engine: scan -> admit -> download -> verify -> commit -> delete -> report.
//! Uses `library` and `dropbox`; never the console.

pub mod backends;
mod current_report;
pub mod engine;
pub mod events;
pub mod feed;
pub mod linking;
pub mod lock;
pub mod metadata_fill;
pub mod pass;
pub mod publish;
pub mod report;
pub mod retry_policy;
pub mod skip;
pub mod standby;
pub mod transfer;
pub mod upload;
