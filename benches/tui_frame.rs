//! Console frame benchmark: one full frame of the console at 120x40 (all four panes) with
//! 1,000 rows in the Dropbox queue and 10,000 entries in the error log — what a busy day looks
//! like. Target: at most 2 ms a frame. `cargo bench --bench tui_frame`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use smartimage::import::events::{EngineEvent, ItemRef};
use smartimage::library::ids::{ItemId, LinkId};
use smartimage::library::policy::ErrorKind;
use smartimage::tui::app::{App, EngineStatus, ErrorRow, LibraryView, PaneId};
use smartimage::tui::layout;
use smartimage::tui::theme::Theme;

const QUEUE_ROWS: i64 = 1_000;
const LOG_ENTRIES: i64 = 10_000;
const ACCOUNTS: [&str; 4] = [
    "Acme Marketing",
    "Basic Bakery",
    "Trial Studio",
    "Zeta Films",
];

/// A console with a full queue (some downloading, some done, some failed) and a long error log.
fn busy_console() -> App {
    let mut app = App::new(
        "/srv/smartimage".into(),
        "operator@example.com".into(),
        Theme { color: true },
    );
    app.engine = EngineStatus::Watching;
    app.view = LibraryView {
        links: ACCOUNTS
            .iter()
            .enumerate()
            .map(|(i, a)| (a.to_string(), LinkId(i as i64 + 1)))
            .collect::<HashMap<_, _>>(),
        ..LibraryView::default()
    };
    let start = Instant::now();
    for i in 0..QUEUE_ROWS {
        let account = ACCOUNTS[i as usize % ACCOUNTS.len()];
        app.now = start + Duration::from_millis(i as u64);
        app.apply_engine(EngineEvent::Discovered(ItemRef {
            item: ItemId(i),
            link: LinkId(i % ACCOUNTS.len() as i64 + 1),
            account: account.into(),
            path: format!("/{account}/shoot {}/IMG_{i:05}.jpg", i / 100),
            size: 4_000_000 + i as u64 * 1_000,
        }));
        match i % 4 {
            0 => {
                app.apply_engine(EngineEvent::Progress {
                    item: ItemId(i),
                    bytes: 1_000_000,
                    total: 4_000_000 + i as u64 * 1_000,
                });
            }
            1 => {
                app.apply_engine(EngineEvent::Failed {
                    item: ItemRef {
                        item: ItemId(i),
                        link: LinkId(i % ACCOUNTS.len() as i64 + 1),
                        account: account.into(),
                        path: format!("/{account}/IMG_{i:05}.jpg"),
                        size: 1,
                    },
                    kind: ErrorKind::UnsupportedFormat,
                    detail: "not a supported format".into(),
                });
            }
            _ => {}
        }
    }
    app.errors.rows = (0..LOG_ENTRIES)
        .map(|i| {
            let account = ACCOUNTS[i as usize % ACCOUNTS.len()];
            ErrorRow {
                item: ItemId(100_000 + i),
                account: account.into(),
                path: format!("/{account}/old/archive-{i:05}.zip"),
                size: 12_345_678,
                kind: ErrorKind::UnsupportedFormat,
                detail: "Smartimage does not accept ZIP archives (archive). Unpack it and drop the files inside, then retry.".into(),
                at: 1_795_000_000 - i,
                retrying: false,
                state: smartimage::library::store::import_items::ItemState::Failed,
                next_attempt_at: None,
                report: Some(format!("/{account}/Smartimage upload errors 2026-11-18T11-06-40Z.txt")),
upload: false,
            }
        })
        .collect();
    app.errors.cursor = 5_000;
    app.focus = PaneId::Errors;
    app
}

fn bench(c: &mut Criterion) {
    let app = busy_console();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    c.bench_function(
        "console frame 120x40, 1,000 queue rows, 10,000 log entries",
        |b| {
            b.iter(|| {
                terminal
                    .draw(|frame| layout::draw(frame, &app))
                    .expect("draw");
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
