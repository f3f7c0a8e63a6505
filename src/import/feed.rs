//! The engine event log read back as [`EngineEvent`]s: how a console (or `import --once` asking
//! a running engine) follows an engine in another process — or its own, through the same path.
//! The store writes the log (`store::engine_events`); this turns its rows into what front ends
//! already render.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::import::events::{EngineEvent, ItemRef, PassSummary};
use crate::library::ids::{ItemId, LinkId};
use crate::library::policy::ErrorKind;
use crate::library::store::engine_events::{self, EventRow};
use crate::library::store::links::LinkState;

/// Kinds an engine appends itself (state changes are logged by the store).
pub const PROGRESS: &str = engine_events::PROGRESS;
pub const RATE_LIMITED: &str = "rate_limited";
pub const LINK_ERROR: &str = "link_error";
pub const PASS_STARTED: &str = "pass_started";
pub const PASS_FINISHED: &str = "pass_finished";
pub const KEPT_CHANGED: &str = "kept_changed";
pub const OUR_REPORT_LEFT: &str = "our_report_left";

/// The detail of a `progress` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressDetail {
    pub bytes: u64,
    pub total: u64,
}

/// What an engine appends for an event no state change logs (`None`: nothing to append — a
/// state change the store logs itself, an upload of the console's own, or progress, which
/// the publisher appends once a second).
pub fn appended(
    event: &EngineEvent,
) -> Option<(&'static str, Option<LinkId>, Option<ItemId>, String)> {
    Some(match event {
        EngineEvent::RateLimited { link, wait } => (
            RATE_LIMITED,
            Some(*link),
            None,
            (wait.as_millis() as u64).to_string(),
        ),
        EngineEvent::LinkError { link, detail, .. } => {
            (LINK_ERROR, Some(*link), None, detail.clone())
        }
        EngineEvent::PassStarted { link, .. } => (PASS_STARTED, Some(*link), None, String::new()),
        EngineEvent::PassFinished { link, summary, .. } => (
            PASS_FINISHED,
            Some(*link),
            None,
            serde_json::to_string(summary).unwrap_or_default(),
        ),
        EngineEvent::KeptChanged { item } => (KEPT_CHANGED, None, Some(*item), String::new()),
        EngineEvent::OurReportLeft { item } => (
            OUR_REPORT_LEFT,
            Some(item.link),
            Some(item.item),
            String::new(),
        ),
        _ => return None,
    })
}

/// The event a log row stands for (`None` for rows front ends do not show).
pub fn to_event(row: &EventRow) -> Option<EngineEvent> {
    let account = || row.account.clone().unwrap_or_default();
    let item_ref = || -> Option<ItemRef> {
        Some(ItemRef {
            item: row.item?,
            link: row.link?,
            account: account(),
            path: row.path.clone()?,
            size: row.size.unwrap_or(0),
        })
    };
    let kind = || {
        row.error_kind
            .as_deref()
            .and_then(ErrorKind::parse)
            .unwrap_or(ErrorKind::Unknown)
    };
    let detail = || row.detail.clone().unwrap_or_default();
    if let Some(state) = row.kind.strip_prefix("item:") {
        return match state {
            "discovered" => item_ref().map(EngineEvent::Discovered),
            "downloading" => row.item.map(|item| EngineEvent::Admitted { item }),
            "committed" => Some(EngineEvent::Imported {
                item: item_ref()?,
                file: row.file?,
            }),
            "deleted" => row.item.map(|item| EngineEvent::Deleted { item }),
            "failed" => Some(EngineEvent::Failed {
                item: item_ref()?,
                kind: kind(),
                detail: detail(),
            }),
            "retrying" => Some(EngineEvent::Retrying {
                item: item_ref()?,
                kind: kind(),
                detail: detail(),
                next_attempt_at: row.next_attempt_at.unwrap_or(0),
            }),
            _ => None,
        };
    }
    if let Some(state) = row.kind.strip_prefix("link:") {
        return Some(EngineEvent::LinkState {
            link: row.link?,
            account: account(),
            state: LinkState::parse(state)?,
            detail: row.detail.clone(),
        });
    }
    match row.kind.as_str() {
        "report:written" => Some(EngineEvent::ReportWritten {
            link: row.link?,
            account: account(),
            path: detail(),
            failures: 0,
        }),
        "report:removed" => Some(EngineEvent::ReportRemoved {
            link: row.link?,
            account: account(),
            path: detail(),
        }),
        PROGRESS => {
            let progress: ProgressDetail = serde_json::from_str(row.detail.as_deref()?).ok()?;
            Some(EngineEvent::Progress {
                item: row.item?,
                bytes: progress.bytes,
                total: progress.total,
            })
        }
        RATE_LIMITED => Some(EngineEvent::RateLimited {
            link: row.link?,
            wait: Duration::from_millis(row.detail.as_deref()?.parse().ok()?),
        }),
        LINK_ERROR => Some(EngineEvent::LinkError {
            link: row.link?,
            account: account(),
            detail: detail(),
        }),
        PASS_STARTED => Some(EngineEvent::PassStarted {
            link: row.link?,
            account: account(),
        }),
        PASS_FINISHED => Some(EngineEvent::PassFinished {
            link: row.link?,
            account: account(),
            summary: serde_json::from_str::<PassSummary>(row.detail.as_deref()?).ok()?,
        }),
        KEPT_CHANGED => row.item.map(|item| EngineEvent::KeptChanged { item }),
        OUR_REPORT_LEFT => item_ref().map(|item| EngineEvent::OurReportLeft { item }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::ids::{AccountId, FileId};

    fn row(kind: &str) -> EventRow {
        EventRow {
            seq: 1,
            at_ms: 0,
            kind: kind.into(),
            link: Some(LinkId(7)),
            account_id: Some(AccountId(1)),
            account: Some("acme".into()),
            item: Some(ItemId(5)),
            path: Some("/acme/a.jpg".into()),
            size: Some(100),
            error_kind: Some("unsupported_format".into()),
            next_attempt_at: Some(99),
            file: Some(FileId(3)),
            detail: Some("why".into()),
        }
    }

    #[test]
    fn every_event_an_engine_appends_reads_back_as_itself() {
        let item = ItemRef {
            item: ItemId(5),
            link: LinkId(7),
            account: "acme".into(),
            path: "/acme/a.jpg".into(),
            size: 100,
        };
        let summary = PassSummary {
            imported: 3,
            ..PassSummary::default()
        };
        for event in [
            EngineEvent::RateLimited {
                link: LinkId(7),
                wait: Duration::from_millis(1500),
            },
            EngineEvent::LinkError {
                link: LinkId(7),
                account: "acme".into(),
                detail: "down".into(),
            },
            EngineEvent::PassStarted {
                link: LinkId(7),
                account: "acme".into(),
            },
            EngineEvent::PassFinished {
                link: LinkId(7),
                account: "acme".into(),
                summary,
            },
            EngineEvent::KeptChanged { item: ItemId(5) },
            EngineEvent::OurReportLeft { item },
        ] {
            let (kind, link, item, detail) = appended(&event).expect("appended");
            let mut stored = row(kind);
            stored.link = link.or(stored.link);
            stored.item = item;
            stored.detail = Some(detail);
            assert_eq!(to_event(&stored), Some(event));
        }
    }

    #[test]
    fn journal_rows_read_as_the_events_a_console_renders() {
        assert!(matches!(
            to_event(&row("item:discovered")),
            Some(EngineEvent::Discovered(ItemRef {
                item: ItemId(5),
                ..
            }))
        ));
        assert_eq!(
            to_event(&row("item:committed")),
            Some(EngineEvent::Imported {
                item: ItemRef {
                    item: ItemId(5),
                    link: LinkId(7),
                    account: "acme".into(),
                    path: "/acme/a.jpg".into(),
                    size: 100
                },
                file: FileId(3)
            })
        );
        assert!(matches!(
            to_event(&row("item:failed")),
            Some(EngineEvent::Failed {
                kind: ErrorKind::UnsupportedFormat,
                ..
            })
        ));
        assert!(matches!(
            to_event(&row("link:paused")),
            Some(EngineEvent::LinkState {
                state: LinkState::Paused,
                ..
            })
        ));
        assert_eq!(to_event(&row("item:gone")), None);
        assert_eq!(to_event(&row("something new")), None);
    }
}
