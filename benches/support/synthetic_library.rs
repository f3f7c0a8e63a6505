//! A synthetic library for the All Files benchmark: an operator, one account and `files` rows
//! inserted straight through the store in big transactions (no blobs: the pane never reads
//! them). Names mix words, numbers and some non-ASCII so substring and fuzzy filters have
//! realistic work; about 70 % are Dropbox uploads.

use std::path::Path;

use smartimage::library::Library;
use smartimage::library::model::{AccountId, AdminId, NewFile, Source};
use smartimage::library::policy::PlanCatalog;
use smartimage::library::store::{Store, files};

pub const OPERATOR: &str = "operator@bench.smartimage.test";
pub const ACCOUNT: &str = "Bench Account";
/// Rows per transaction.
const BATCH: u64 = 50_000;

const WORDS: [&str; 24] = [
    "sunset", "harbour", "launch", "poster", "team", "portrait", "product", "banner", "city",
    "forest", "winter", "summer", "logo", "menu", "façade", "café", "münchen", "straße", "event",
    "hero", "studio", "draft", "final", "print",
];
const KINDS: [(&str, &str, &str, &str); 5] = [
    ("jpg", "image", "JPEG image", "image/jpeg"),
    ("png", "image", "PNG image", "image/png"),
    ("mp4", "video", "MPEG-4 video", "video/mp4"),
    ("pdf", "document", "PDF document", "application/pdf"),
    ("webp", "image", "WebP image", "image/webp"),
];

/// A small, fast, reproducible generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn row(rng: &mut Rng, account: AccountId, operator: AdminId, i: u64) -> NewFile {
    let (ext, kind, format, mime) = KINDS[rng.below(KINDS.len() as u64) as usize];
    let a = WORDS[rng.below(WORDS.len() as u64) as usize];
    let b = WORDS[rng.below(WORDS.len() as u64) as usize];
    let dropbox = rng.below(10) < 7;
    NewFile {
        batch: None,
        account,
        name: format!("{a}-{b}-{i:07}.{ext}"),
        size: 1_000 + rng.below(20_000_000),
        kind: kind.into(),
        format: format.into(),
        mime: mime.into(),
        sha256: format!("{:016x}{:048x}", rng.next(), i),
        source: if dropbox {
            Source::Dropbox
        } else {
            Source::Upload
        },
        uploaded_by: (!dropbox).then_some(operator),
        imported_at: 1_700_000_000 + i as i64 * 30 + rng.below(30) as i64,
        dropbox: None,
    }
}

/// Make a library of `files` rows in `data_dir` (which must be new).
pub fn generate(data_dir: &Path, files: u64) {
    let mut lib = Library::open(data_dir, PlanCatalog::default()).expect("library");
    let operator = lib.init(OPERATOR, None, None).expect("operator");
    let op = lib.actor(Some(OPERATOR), None).expect("actor");
    let account = lib
        .add_account(&op, ACCOUNT, "multi-brand")
        .expect("account");
    let db = lib.store().path().to_path_buf();
    drop(lib);
    let mut store = Store::open(&db).expect("store");
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut done = 0;
    while done < files {
        let end = (done + BATCH).min(files);
        store
            .transaction(|tx| -> rusqlite::Result<()> {
                for i in done..end {
                    files::insert_file(tx, &row(&mut rng, account.id, operator.id, i), None)?;
                }
                Ok(())
            })
            .expect("insert batch");
        done = end;
    }
}

/// Names holding "zq": no generated name has a "z" or a "q", so a one- or two-letter filter
/// ("z", "zq") matches exactly these few files. Added once (later runs find them).
#[allow(dead_code)]
pub const RARE_NAMES: u64 = 10;

/// Add the [`RARE_NAMES`] files (`rare-zq-N.jpg`) unless the library has them already.
#[allow(dead_code)]
pub fn ensure_rare_names(data_dir: &Path) {
    let lib = Library::open(data_dir, PlanCatalog::default()).expect("library");
    let db = lib.store().path().to_path_buf();
    drop(lib);
    let mut store = Store::open(&db).expect("store");
    let c = store.connection();
    // A prefix LIKE is a range of the NOCASE name index.
    let have: i64 = c
        .query_row(
            "SELECT count(*) FROM files WHERE name LIKE 'rare-zq-%'",
            [],
            |r| r.get(0),
        )
        .expect("count rare names");
    if have as u64 >= RARE_NAMES {
        return;
    }
    let (account, operator): (AccountId, AdminId) = c
        .query_row(
            "SELECT (SELECT id FROM accounts WHERE name = ?1), (SELECT id FROM admins WHERE email = ?2)",
            [ACCOUNT, OPERATOR],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("account and operator");
    let mut rng = Rng(0x0dd_5eed);
    store
        .transaction(|tx| -> rusqlite::Result<()> {
            for k in have as u64..RARE_NAMES {
                let mut file = row(&mut rng, account, operator, 9_000_000 + k);
                file.name = format!("rare-zq-{k}.jpg");
                files::insert_file(tx, &file, None)?;
            }
            Ok(())
        })
        .expect("insert rare names");
}
