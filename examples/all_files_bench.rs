//! All Files at a million files: generates a synthetic library (once per directory), then
//! measures the console's own code paths on it — open to first frame, one frame, a keystroke
//! in the name filter to updated rows, the Dropbox toggle, select-all + batch-add — and the
//! peak RSS of the measuring process. Targets: issue 6 / BENCHMARKS.md.
//!
//! `cargo run --release --example all_files_bench -- [--files 1000000] [--dir DIR] [--no-name-index]`
//!
//! `--no-name-index` measures without the pane's in-memory name index (as before it existed, or
//! in the console's first moments, before its builder thread is done). Each run removes the
//! collection its batch add created.
//!
//! The measurements run in a child process so the generator's memory does not count. Frames
//! are drawn into ratatui's `TestBackend` (the terminal write itself is not timed). Matching
//! counts are read after the rows, as the console does (on their own thread).

#[path = "../benches/support/synthetic_library.rs"]
mod synthetic_library;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use smartimage::library::Library;
use smartimage::library::permissions::Actor;
use smartimage::library::policy::PlanCatalog;
use smartimage::library::store::name_index::NameIndex;
use smartimage::tui::all_files::FilesRequest;
use smartimage::tui::all_files::names::NameSlot;
use smartimage::tui::all_files::worker::{WRITE_CACHE_KIB, coalesce, serve_among};
use smartimage::tui::app::{App, Effect, PaneId};
use smartimage::tui::theme::Theme;
use smartimage::tui::{ConsoleOptions, layout, load_view};

const DEFAULT_FILES: u64 = 1_000_000;
const FRAMES: u32 = 200;

struct Bench {
    app: App,
    library: Library,
    actor: Actor,
    terminal: Terminal<TestBackend>,
    /// Counts asked for, served after the rows (the console's count thread).
    deferred: Vec<FilesRequest>,
    /// When the current key's first frame was drawn from an early answer (the empty substring
    /// answer the worker sends before a fuzzy walk), if it had one.
    first_frame: Option<Instant>,
    /// The name index, once built (the console builds it on a thread after the first frame).
    names: NameSlot,
}

impl Bench {
    /// Serve everything but counts, like the page thread; returns the other effects.
    fn serve(&mut self, effects: Vec<Effect>) {
        let mut pending: Vec<Effect> = effects;
        while let Some(effect) = pending.pop() {
            if let Effect::Files(request) = effect {
                if matches!(request, FilesRequest::Count { .. }) {
                    self.deferred.push(request);
                    continue;
                }
                let mut early = vec![];
                let reply = serve_among(
                    &mut self.library,
                    &self.actor,
                    Some(&self.names),
                    request,
                    &mut |r| early.push((r, Instant::now())),
                );
                for (r, at) in early {
                    // In the console this frame is drawn while the worker walks on.
                    pending.extend(self.app.apply_files(r));
                    let drawing = Instant::now();
                    self.draw();
                    self.first_frame.get_or_insert(at + drawing.elapsed());
                }
                if let Some(reply) = reply {
                    pending.extend(self.app.apply_files(reply));
                }
            }
        }
    }

    /// The counts asked for, as the count thread serves them: only the newest one.
    fn counts(&mut self) -> Duration {
        let started = Instant::now();
        for request in coalesce(std::mem::take(&mut self.deferred)) {
            if let Some(reply) = serve_among(
                &mut self.library,
                &self.actor,
                Some(&self.names),
                request,
                &mut |_| {},
            ) {
                let more = self.app.apply_files(reply);
                self.serve(more);
            }
        }
        started.elapsed()
    }

    fn draw(&mut self) {
        let app = &self.app;
        self.terminal.draw(|f| layout::draw(f, app)).expect("draw");
    }

    /// A key, its reads, and the frame that shows them.
    fn key(&mut self, code: KeyCode) -> Duration {
        self.key_both(code).0
    }

    /// A key to its first frame with new rows, and to its last frame (they differ when the
    /// worker answers early, before a fuzzy walk).
    fn key_both(&mut self, code: KeyCode) -> (Duration, Duration) {
        self.first_frame = None;
        let started = Instant::now();
        let effects = self.app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
        self.serve(effects);
        self.draw();
        let all = started.elapsed();
        let first = self.first_frame.map_or(all, |at| at - started);
        (first, all)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn current_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Build the name index into `b` and say how long it took and what it holds.
fn build_name_index(b: &mut Bench, data: &Path) {
    let rss_before = current_rss_mib();
    let started = Instant::now();
    let builder = Library::open(data, PlanCatalog::default()).expect("library");
    builder
        .store()
        .connection()
        .pragma_update(None, "cache_size", -1024)
        .expect("cache size");
    let index = NameIndex::build(builder.store().connection())
        .expect("name index")
        .expect("fits");
    drop(builder);
    let built = started.elapsed();
    println!(
        "| name index build, {} names ({:.0} KiB on the heap; RSS {:.1} → {:.1} MiB) | {} | off the UI thread |",
        index.len(),
        index.heap_bytes() as f64 / 1024.0,
        rss_before,
        current_rss_mib(),
        ms(built)
    );
    *b.names.write().expect("names") = Some(index);
}

fn measure(data: &Path, name_index: bool) {
    let options = ConsoleOptions {
        data_dir: data.to_path_buf(),
        plans: PlanCatalog::default(),
        as_admin: Some(synthetic_library::OPERATOR.into()),
        os_user: None,
        admin_label: synthetic_library::OPERATOR.into(),
        engine: Default::default(),
        send: Default::default(),
        keymap: Default::default(),
    };
    // Open to first frame: the library, the accounts, the first window of rows, one frame.
    let started = Instant::now();
    let library = Library::open(data, PlanCatalog::default()).expect("library");
    let actor = library
        .actor(Some(synthetic_library::OPERATOR), None)
        .expect("actor");
    // The page cache of the console's writing lane (this one connection reads and writes here).
    library
        .store()
        .connection()
        .pragma_update(None, "cache_size", -WRITE_CACHE_KIB)
        .expect("cache size");
    let mut app = App::new(
        data.display().to_string(),
        options.admin_label.clone(),
        Theme::from_env(),
    );
    app.apply_view(load_view(&options).expect("view"));
    app.focus = PaneId::Files;
    let start = app.files_start();
    let mut b = Bench {
        app,
        library,
        actor,
        terminal: Terminal::new(TestBackend::new(120, 40)).expect("terminal"),
        deferred: vec![],
        first_frame: None,
        names: NameSlot::default(),
    };
    b.serve(start);
    b.draw();
    let first_frame = started.elapsed();
    let first_count = b.counts();
    println!(
        "| open to first frame (120x40, rows shown) | {} | ≤ 300 ms |",
        ms(first_frame)
    );
    println!(
        "| matching count of all files (after the rows) | {} | deferred |",
        ms(first_count)
    );

    // The name index, as the console's builder thread makes it after the first frame (its own
    // connection, a 1 MiB page cache), timed on its own.
    if name_index {
        build_name_index(&mut b, data);
    } else {
        println!("| name index | not built (--no-name-index) | |");
    }

    for (w, h) in [(120, 40), (80, 24)] {
        b.terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        b.draw();
        let started = Instant::now();
        for _ in 0..FRAMES {
            b.draw();
        }
        println!(
            "| one frame render, All Files focused, {w}x{h} (mean of {FRAMES}) | {} | ≤ 5 ms |",
            ms(started.elapsed() / FRAMES)
        );
    }
    b.terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");

    // Scrolling deep into the list: keyset pages, never OFFSET.
    let mut slowest_scroll = Duration::ZERO;
    for _ in 0..500 {
        slowest_scroll = slowest_scroll.max(b.key(KeyCode::PageDown));
    }
    println!(
        "| PgDn × 500 (5,000 rows deep), slowest key to frame | {} | |",
        ms(slowest_scroll)
    );
    println!(
        "| G (last page) key to frame | {} | |",
        ms(b.key(KeyCode::Char('G')))
    );
    println!(
        "| g (first page) key to frame | {} | |",
        ms(b.key(KeyCode::Char('g')))
    );

    for (label, text) in [
        ("substring, common words", "harbour"),
        ("substring, non-ASCII", "straße"),
        ("substring, one rare file", "0424242"),
        ("no substring match → fuzzy fallback", "hxq"),
        ("two letters, no name has them", "qz"),
        ("one then two letters, in 10 names", "zq"),
        ("two letters, in ~80,000 names", "ha"),
        ("one letter, in most names", "e"),
    ] {
        b.key(KeyCode::Char('/'));
        let (mut times, mut settled) = (vec![], Duration::ZERO);
        for c in text.chars() {
            let (first, all) = b.key_both(KeyCode::Char(c));
            times.push(first);
            settled = settled.max(all);
        }
        b.key(KeyCode::Enter);
        let worst = times.iter().max().copied().unwrap_or_default();
        let last = times.last().copied().unwrap_or_default();
        let count = b.counts();
        let each: Vec<String> = text
            .chars()
            .zip(&times)
            .map(|(c, t)| format!("{c} {:.1}", t.as_secs_f64() * 1000.0))
            .collect();
        println!(
            "| name filter keystroke → rows, {label} \"{text}\": slowest / last of {} keys (each, ms: {}) | {} / {} | ≤ 50 ms |",
            times.len(),
            each.join(", "),
            ms(worst),
            ms(last)
        );
        if settled > worst {
            println!(
                "| … its close (fuzzy) matches shown after | {} (slowest key) | |",
                ms(settled)
            );
        }
        println!(
            "| … its matching count ({} files, after the rows) | {} | deferred |",
            b.app.files.count.unwrap_or(0),
            ms(count)
        );
        b.key(KeyCode::Char('/'));
        b.key(KeyCode::Esc);
        b.counts();
    }

    let on = b.key(KeyCode::Char('d'));
    let on_count = b.counts();
    let dropbox_files = b.app.files.count.unwrap_or(0);
    let off = b.key(KeyCode::Char('d'));
    b.counts();
    println!("| Dropbox filter on → rows | {} | ≤ 50 ms |", ms(on));
    println!(
        "| … its matching count ({dropbox_files} files) | {} | deferred |",
        ms(on_count)
    );
    println!("| Dropbox filter off → rows | {} | ≤ 50 ms |", ms(off));

    // Select all + batch-add to a new collection, through the dialog.
    b.app.focus = PaneId::Accounts;
    b.key(KeyCode::Down);
    b.counts();
    b.app.focus = PaneId::Files;
    b.key(KeyCode::Char('*'));
    b.counts();
    b.key(KeyCode::Char('c'));
    // "New collection…" is the last entry of the picker.
    b.key(KeyCode::End);
    b.key(KeyCode::Enter);
    // A new name each run: the library is reused between runs.
    let name = format!(
        "Everything {}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    for c in name.chars() {
        b.key(KeyCode::Char(c));
    }
    b.key(KeyCode::Enter);
    let batch = b.key(KeyCode::Char('y'));
    println!(
        "| select all + batch-add to a new collection: {} | {} | ≤ 10 s |",
        b.app
            .files
            .notice
            .clone()
            .or(b.app.last_problem.clone())
            .unwrap_or_default(),
        ms(batch)
    );
    println!(
        "| peak RSS of the measuring process (VmHWM) | {:.1} MiB | ≤ 150 MiB |",
        peak_rss_mib()
    );
    // Leave the library as it was: each run's million collection rows would make the next
    // run's pages (and memory) heavier.
    let removed = b.library.store().connection().execute_batch(&format!(
        "BEGIN IMMEDIATE;
             DELETE FROM collection_files WHERE collection IN
               (SELECT id FROM collections WHERE name = '{name}');
             DELETE FROM collections WHERE name = '{name}';
             COMMIT;"
    ));
    if let Err(e) = removed {
        eprintln!("could not remove the collection {name:?}: {e}");
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut files = DEFAULT_FILES;
    let mut dir: Option<PathBuf> = None;
    let mut measure_only = false;
    let mut name_index = true;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--files" => files = args.next().and_then(|v| v.parse().ok()).expect("--files N"),
            "--dir" => dir = args.next().map(PathBuf::from),
            "--measure-only" => measure_only = true,
            "--no-name-index" => name_index = false,
            other => panic!("unknown argument {other:?}"),
        }
    }
    let dir =
        dir.unwrap_or_else(|| std::env::temp_dir().join(format!("smartimage-all-files-{files}")));
    if measure_only {
        measure(&dir, name_index);
        return;
    }
    if !dir.join("library.sqlite3").exists() {
        let started = Instant::now();
        synthetic_library::generate(&dir, files);
        println!(
            "generated {files} files in {} ({})",
            ms(started.elapsed()),
            dir.display()
        );
    } else {
        println!("using the library in {}", dir.display());
    }
    synthetic_library::ensure_rare_names(&dir);
    println!("| what | as measured | target |");
    println!("|---|---|---|");
    let status = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--measure-only", "--dir"])
        .arg(&dir)
        .args((!name_index).then_some("--no-name-index"))
        .status()
        .expect("measuring run");
    assert!(status.success());
}
