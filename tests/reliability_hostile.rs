//! The hostile input corpus (`tests/fixtures/hostile/corpus.json`, plus 255-byte names built
//! here): names full of terminal escapes, bidi tricks and invisible characters, and contents
//! that lie (executables named `.png`, polyglots, decompression bombs, an empty file, a 4 GiB
//! sparse file). Each goes through a real `smartimage import`, the TXT report, `files list`,
//! `errors list` and the console: nothing crashes, no control or bidi character reaches a
//! terminal unescaped, every file ends up in exactly one place, every refusal says why.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use smartimage::dropbox::local::LocalSettings;
use smartimage::import::engine::EngineSettings;
use smartimage::import::events::{EngineEvent, ItemRef};
use smartimage::import::report::REPORT_FILE_NAME;
use smartimage::library::ids::ItemId;
use smartimage::library::policy::{ErrorKind, PlanCatalog};
use smartimage::tui::app::{App, PaneId};
use smartimage::tui::theme::Theme;
use smartimage::tui::{ConsoleOptions, layout, load_view};

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const ACCOUNT: &str = "Hostile";
const FOUR_GIB: u64 = 4 << 30;

/// Counts reads of one file by any process (inotify `IN_ACCESS`: every `read`, `sendfile`,
/// `splice` or `copy_file_range` from it), so "refused before a byte is read" is observed, not
/// assumed.
struct ReadWatch {
    fd: libc::c_int,
}

impl ReadWatch {
    fn new(path: &Path) -> ReadWatch {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: plain syscalls on a descriptor this struct owns; the path is NUL-terminated.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC);
            assert!(fd >= 0, "inotify: {}", std::io::Error::last_os_error());
            let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
            let watch = libc::inotify_add_watch(fd, name.as_ptr(), libc::IN_ACCESS);
            assert!(watch >= 0, "inotify: {}", std::io::Error::last_os_error());
            ReadWatch { fd }
        }
    }

    /// Read events since the watch began.
    fn reads(&self) -> usize {
        let header = std::mem::size_of::<libc::inotify_event>();
        let mut buf = vec![0u8; 64 * 1024];
        let mut events = 0;
        loop {
            // SAFETY: reading into a buffer of the length given.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return events;
            }
            let mut at = 0;
            while at + header <= n as usize {
                // SAFETY: the kernel wrote whole events; read_unaligned copes with the offset.
                let event: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                if event.mask & libc::IN_ACCESS != 0 {
                    events += 1;
                }
                at += header + event.len as usize;
            }
        }
    }
}

impl Drop for ReadWatch {
    fn drop(&mut self) {
        // SAFETY: closing the descriptor this struct opened.
        unsafe { libc::close(self.fd) };
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Imported,
    Rejected,
    Either,
    /// Named like our reports: never imported, listed or deleted; it stays as it is.
    Left,
}

struct Case {
    name: String,
    content: String,
    expect: Expect,
    why: String,
}

fn corpus() -> Vec<Case> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/corpus.json"),
    )
    .unwrap();
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut cases: Vec<Case> = entries
        .iter()
        .map(|e| Case {
            name: e["name"].as_str().unwrap().to_owned(),
            content: e["content"].as_str().unwrap().to_owned(),
            expect: match e["expect"].as_str().unwrap() {
                "imported" => Expect::Imported,
                "rejected" => Expect::Rejected,
                "left" => Expect::Left,
                _ => Expect::Either,
            },
            why: e["why"].as_str().unwrap().to_owned(),
        })
        .collect();
    // The longest names a file system and Dropbox take: 255 bytes.
    let long = [
        ("x".repeat(251), "255 ASCII bytes"),
        (
            format!("{}x", "\u{e9}".repeat(125)),
            "255 bytes of two-byte letters",
        ),
        (
            format!("{}{}", "\u{202e}".repeat(83), "aa"),
            "255 bytes, 83 right-to-left overrides",
        ),
    ];
    for (stem, why) in long {
        let name = format!("{stem}.png");
        assert_eq!(name.len(), 255, "{why}");
        cases.push(Case {
            name,
            content: "png".into(),
            expect: Expect::Imported,
            why: why.into(),
        });
    }
    cases
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_with(width: u32, height: u32, filler: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    b.extend(13u32.to_be_bytes());
    b.extend(&ihdr);
    b.extend(crc32(&ihdr).to_be_bytes());
    // A tiny zlib stream of zeros: inflates to far more than it weighs.
    let idat = [
        b"IDAT".as_slice(),
        &[0x78, 0xDA, 0xED, 0xC1, 0x01, 0x0D, 0, 0, 0],
    ]
    .concat();
    b.extend(((idat.len() - 4) as u32).to_be_bytes());
    b.extend(&idat);
    b.extend(crc32(&idat).to_be_bytes());
    b.resize(b.len() + filler, 0);
    b.extend(0u32.to_be_bytes());
    b.extend(b"IEND");
    b.extend(crc32(b"IEND").to_be_bytes());
    b
}

fn contents(kind: &str, seed: usize) -> Vec<u8> {
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
    match kind {
        "png" => png_with(1 + seed as u32, 1, 64 + seed),
        "empty" => Vec::new(),
        "png_truncated" => png_with(1, 1, 0)[..20].to_vec(),
        "jpeg_truncated" => b"\xFF\xD8\xFF".to_vec(),
        "png_bomb" => png_with(0x7FFF_FFFF, 0x7FFF_FFFF, 0),
        "gif_bomb" => {
            let mut b = b"GIF89a\xFF\xFF\xFF\xFF\x80\x00\x00".to_vec();
            b.resize(64, 0);
            b.push(b';');
            b
        }
        "gifar" => [b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), zip].concat(),
        "pdf_zip" => [b"%PDF-1.4\n%%EOF\n".to_vec(), zip].concat(),
        "jpeg_html" => [
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xFE\x00\x30"
                .to_vec(),
            b"<html><script>alert(document.cookie)</script>".to_vec(),
            b"\xFF\xD9".to_vec(),
        ]
        .concat(),
        "html" => b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>".to_vec(),
        "exe" => {
            let mut b = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
            b.resize(512, 0);
            b
        }
        "elf" => {
            let mut b = b"\x7FELF\x02\x01\x01\x00".to_vec();
            b.resize(256, 0);
            b
        }
        "shebang" => b"#!/bin/sh\nrm -rf --no-preserve-root /\n".to_vec(),
        "text" => b"Not a report, just notes.\n".to_vec(),
        other => panic!("unknown content kind {other}"),
    }
}

fn smartimage(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .env_remove("SMARTIMAGE_ADMIN")
        .env("NO_COLOR", "1")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap()
}

/// What a terminal must never receive raw: controls (C0, DEL, C1) other than the line break,
/// bidi overrides and isolates, zero-width characters, the BOM, line/paragraph separators.
fn unsafe_for_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn assert_terminal_safe(text: &str, what: &str) {
    if let Some((at, c)) = text.char_indices().find(|(_, c)| unsafe_for_terminal(*c)) {
        let from = text[..at]
            .char_indices()
            .rev()
            .nth(40)
            .map_or(0, |(i, _)| i);
        panic!(
            "{what}: raw U+{:04X} reaches the terminal near {:?}",
            c as u32,
            &text[from..(at + 1).min(text.len())]
        );
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    data: PathBuf,
    folder: PathBuf,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dropbox = dir.path().join("Dropbox");
    std::fs::create_dir_all(&dropbox).unwrap();
    ok(
        smartimage(
            &data,
            &["init", "--operator", OPERATOR, "--os-user", "nobody"],
        ),
        "init",
    );
    let op = ["--as", OPERATOR];
    ok(
        smartimage(
            &data,
            &[&op[..], &["account", "add", ACCOUNT, "--plan", "trial"]].concat(),
        ),
        "account add",
    );
    ok(
        smartimage(
            &data,
            &[&op[..], &["admin", "add", OWNER, "--owner", ACCOUNT]].concat(),
        ),
        "admin add",
    );
    ok(
        smartimage(
            &data,
            &[
                "--as",
                OWNER,
                "link",
                "--account",
                ACCOUNT,
                "--local-folder",
                dropbox.to_str().unwrap(),
            ],
        ),
        "link",
    );
    Rig {
        folder: dropbox.join(ACCOUNT),
        data,
        _dir: dir,
    }
}

#[test]
fn hostile_names_and_contents_are_imported_or_refused_with_a_reason_and_never_reach_a_terminal_raw()
{
    let rig = rig();
    let cases = corpus();
    let mut originals: BTreeMap<String, (Vec<u8>, u64)> = BTreeMap::new();
    let mut huge_file_reads = None;
    std::fs::create_dir_all(&rig.folder).unwrap();
    for (i, case) in cases.iter().enumerate() {
        let path = rig.folder.join(&case.name);
        if case.content == "sparse_4gib" {
            let mut f = std::fs::File::create(&path).unwrap();
            f.write_all(&png_with(1, 1, 0)).unwrap();
            f.seek(SeekFrom::Start(FOUR_GIB)).unwrap();
            f.write_all(b"\0").unwrap();
            drop(f);
            huge_file_reads = Some(ReadWatch::new(&path));
            originals.insert(case.name.clone(), (Vec::new(), FOUR_GIB + 1));
        } else {
            let bytes = contents(&case.content, i);
            std::fs::write(&path, &bytes).unwrap();
            let len = bytes.len() as u64;
            originals.insert(case.name.clone(), (bytes, len));
        }
    }
    // The synced folder imports files that have been still for a moment.
    std::thread::sleep(Duration::from_millis(2_200));

    let as_owner = |args: &[&str]| smartimage(&rig.data, &[&["--as", OWNER][..], args].concat());
    let import_output = ok(as_owner(&["import", "--once"]), "import");
    let huge_file_reads = huge_file_reads
        .expect("the corpus has the 4 GiB file")
        .reads();
    assert_terminal_safe(&import_output, "import --once");
    let files_text = ok(as_owner(&["files", "list"]), "files list");
    assert_terminal_safe(&files_text, "files list");
    let errors_text = ok(as_owner(&["errors", "list"]), "errors list");
    assert_terminal_safe(&errors_text, "errors list");
    let audit_text = ok(as_owner(&["audit"]), "audit");
    assert_terminal_safe(&audit_text, "audit");

    let files_json = ok(as_owner(&["files", "list", "--json"]), "files list --json");
    assert!(!files_json.contains('\u{1b}'), "a raw ESC in JSON output");
    let files: Vec<Value> = serde_json::from_str(&files_json).unwrap();
    let errors: Vec<Value> = serde_json::from_str(&ok(
        as_owner(&["errors", "list", "--json"]),
        "errors --json",
    ))
    .unwrap();
    let prefix = format!("/{ACCOUNT}/");
    let imported: BTreeMap<String, &Value> = files
        .iter()
        .map(|f| {
            let path = f["dropbox_path"].as_str().unwrap();
            (path.strip_prefix(&prefix).unwrap().to_owned(), f)
        })
        .collect();
    let refused: BTreeMap<String, &Value> = errors
        .iter()
        .map(|e| {
            let path = e["path"].as_str().unwrap();
            (path.strip_prefix(&prefix).unwrap().to_owned(), e)
        })
        .collect();

    let mut tally = BTreeMap::<&str, usize>::new();
    for case in &cases {
        let name = &case.name;
        let (bytes, len) = &originals[name];
        let on_disk = rig.folder.join(name);
        let (in_library, in_errors) = (imported.get(name), refused.get(name));
        match (in_library, in_errors) {
            (Some(file), None) => {
                assert!(
                    !matches!(case.expect, Expect::Rejected | Expect::Left),
                    "{name:?} ({}) was imported",
                    case.why
                );
                assert_eq!(
                    file["name"].as_str(),
                    Some(name.as_str()),
                    "name kept exactly"
                );
                assert_eq!(file["size"].as_u64(), Some(*len));
                assert!(!on_disk.exists(), "{name:?} imported but left in Dropbox");
                *tally.entry("imported").or_default() += 1;
            }
            (None, Some(error)) => {
                assert!(
                    !matches!(case.expect, Expect::Imported | Expect::Left),
                    "{name:?} ({}) refused: {error}",
                    case.why
                );
                let kind = error["kind"].as_str().unwrap();
                let detail = error["detail"].as_str().unwrap();
                assert!(ErrorKind::parse(kind).is_some(), "{name:?}: kind {kind}");
                assert!(
                    detail.len() > 20,
                    "{name:?}: the reason is a sentence: {detail:?}"
                );
                let meta = std::fs::metadata(&on_disk).unwrap();
                assert_eq!(meta.len(), *len, "{name:?} untouched in Dropbox");
                if !bytes.is_empty() {
                    assert_eq!(&std::fs::read(&on_disk).unwrap(), bytes);
                }
                *tally.entry("refused").or_default() += 1;
            }
            (None, None) if case.expect == Expect::Left => {
                assert_eq!(
                    &std::fs::read(&on_disk).unwrap(),
                    bytes,
                    "{name:?} ({}) left untouched in Dropbox",
                    case.why
                );
                *tally.entry("left").or_default() += 1;
            }
            (a, b) => panic!(
                "{name:?} ({}) must be in exactly one place: library {}, errors {}",
                case.why,
                a.is_some(),
                b.is_some()
            ),
        }
    }
    assert_eq!(
        refused["huge sparse 4GiB.png"]["kind"].as_str(),
        Some("storage_limit"),
        "the 4 GiB file is refused from its size"
    );
    assert_eq!(
        huge_file_reads, 0,
        "the 4 GiB file was read before it was refused"
    );

    // The TXT report: every refused file, with the group's advice; escaped, safe to `cat`.
    let reports: Vec<PathBuf> = std::fs::read_dir(&rig.folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy() == REPORT_FILE_NAME)
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = std::fs::read_to_string(&reports[0]).unwrap();
    assert_terminal_safe(&report, "the TXT report");
    assert_eq!(
        report.matches("\n  * ").count(),
        refused.len(),
        "one entry per refused file:\n{report}"
    );
    assert!(report.contains("What to do: "));

    // The console: every pane at two sizes, with the corpus in the queue and the error log.
    let options = ConsoleOptions {
        data_dir: rig.data.clone(),
        plans: PlanCatalog::defaults(),
        as_admin: Some(OWNER.into()),
        os_user: None,
        admin_label: OWNER.into(),
        engine: EngineSettings {
            backends: smartimage::import::backends::BackendSettings {
                local: LocalSettings::default(),
                ..Default::default()
            },
            ..EngineSettings::default()
        },
        send: Default::default(),
        keymap: Default::default(),
    };
    let mut app = App::new(
        "/srv/smartimage".into(),
        OWNER.into(),
        Theme { color: false },
    );
    app.apply_view(load_view(&options).unwrap());
    let link = app.view.links[ACCOUNT];
    for (i, case) in cases.iter().enumerate() {
        let item = ItemRef {
            item: ItemId(10_000 + i as i64),
            link,
            account: ACCOUNT.into(),
            path: format!("{prefix}{}", case.name),
            size: originals[&case.name].1,
        };
        app.apply_engine(EngineEvent::Discovered(item.clone()));
        if let Some(error) = refused.get(&case.name) {
            app.apply_engine(EngineEvent::Failed {
                item,
                kind: ErrorKind::parse(error["kind"].as_str().unwrap()).unwrap(),
                detail: error["detail"].as_str().unwrap().to_owned(),
            });
        }
    }
    let mut screens = 0;
    let mut shown_escaped = 0;
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        for pane in PaneId::ALL {
            app.focus = pane;
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| layout::draw(f, &app)).unwrap();
            let screen: String = terminal
                .backend()
                .buffer()
                .content()
                .iter()
                .map(|cell| cell.symbol())
                .collect();
            assert_terminal_safe(&screen, &format!("console {pane:?} at {w}x{h}"));
            screens += 1;
            shown_escaped += usize::from(screen.contains("\\u{1b}"));
        }
    }
    assert!(
        shown_escaped > 0,
        "the hostile names are on screen, escaped"
    );
    assert!(files_text.contains("\\u{1b}") && files_text.contains("\\u{202e}"));
    assert!(errors_text.contains("\\u{202e}"));
    eprintln!(
        "hostile corpus: {} inputs ({} imported, {} refused with a reason, {} named like our \
         report left alone), 6 CLI outputs and the TXT report checked, {screens} console screens \
         rendered; nothing raw reached a terminal",
        cases.len(),
        tally.get("imported").unwrap_or(&0),
        tally.get("refused").unwrap_or(&0),
        tally.get("left").unwrap_or(&0),
    );
}
