//! The synced-folder backend against real temporary directories: what it lists, what it
//! reports as changed, what it downloads, and above all what it refuses to touch.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use smartimage::dropbox::backend::{BackendError, DropboxBackend};
use smartimage::dropbox::local::{LocalFolder, LocalSettings};
use smartimage::dropbox::wire::{DeleteArg, FileMetadata, Metadata, WriteMode};
use tempfile::TempDir;
use tokio::io::AsyncReadExt;

/// Small, so tests wait little; the real default is 2 s.
const STABLE_FOR: Duration = Duration::from_millis(50);
/// Upper bound for anything a test polls for; never reached when the code works.
const DEADLINE: Duration = Duration::from_secs(20);
const POLL_EVERY: Duration = Duration::from_millis(10);

struct Fixture {
    _dir: TempDir,
    root: PathBuf,
    outside: PathBuf,
    folder: LocalFolder,
}

fn settings(stable_for: Duration) -> LocalSettings {
    LocalSettings {
        stable_for,
        rescan_every: Duration::from_secs(60),
    }
}

fn fixture_with(stable_for: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Dropbox");
    let outside = dir.path().join("outside");
    fs::create_dir(&root).unwrap();
    fs::create_dir(&outside).unwrap();
    let folder = LocalFolder::open(&root, settings(stable_for)).unwrap();
    Fixture {
        _dir: dir,
        root,
        outside,
        folder,
    }
}

fn fixture() -> Fixture {
    fixture_with(STABLE_FOR)
}

fn put(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// The whole listing (all pages) and the final cursor.
async fn list_all(folder: &LocalFolder, path: &str, recursive: bool) -> (Vec<Metadata>, String) {
    let mut page = folder.list_folder(path, recursive).await.unwrap();
    let mut entries = std::mem::take(&mut page.entries);
    while page.has_more {
        page = folder.list_folder_continue(&page.cursor).await.unwrap();
        entries.append(&mut page.entries);
    }
    (entries, page.cursor)
}

/// Lists until `done` holds for the entries (files become visible once stable).
async fn list_until(
    folder: &LocalFolder,
    path: &str,
    done: impl Fn(&[Metadata]) -> bool,
) -> (Vec<Metadata>, String) {
    let start = Instant::now();
    loop {
        let (entries, cursor) = list_all(folder, path, true).await;
        if done(&entries) {
            return (entries, cursor);
        }
        assert!(
            start.elapsed() < DEADLINE,
            "listing never got there: {entries:#?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Continues from `cursor`, collecting changes until `done` holds for all collected so far.
async fn changes_until(
    folder: &LocalFolder,
    cursor: &str,
    done: impl Fn(&[Metadata]) -> bool,
) -> (Vec<Metadata>, String) {
    let start = Instant::now();
    let mut cursor = cursor.to_owned();
    let mut seen = Vec::new();
    loop {
        let mut page = folder.list_folder_continue(&cursor).await.unwrap();
        seen.append(&mut page.entries);
        cursor = page.cursor;
        if !page.has_more && done(&seen) {
            return (seen, cursor);
        }
        assert!(
            start.elapsed() < DEADLINE,
            "changes never got there: {seen:#?}"
        );
        if !page.has_more {
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

fn files(entries: &[Metadata]) -> BTreeMap<String, FileMetadata> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Metadata::File(file) => Some((file.path_lower.clone().unwrap(), file.clone())),
            _ => None,
        })
        .collect()
}

fn folders(entries: &[Metadata]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Metadata::Folder(folder) => folder.path_display.clone(),
            _ => None,
        })
        .collect()
}

fn deleted(entries: &[Metadata]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Metadata::Deleted(gone) => gone.path_lower.clone(),
            _ => None,
        })
        .collect()
}

fn has_file(path_lower: &str) -> impl Fn(&[Metadata]) -> bool + '_ {
    move |entries| files(entries).contains_key(path_lower)
}

/// Waits until the file at `path_lower` is listed, and returns its metadata.
async fn stable_file(folder: &LocalFolder, path_lower: &str) -> FileMetadata {
    let (entries, _) = list_until(folder, "", has_file(path_lower)).await;
    files(&entries)[path_lower].clone()
}

async fn read_download(folder: &LocalFolder, path: &str) -> Result<Vec<u8>, BackendError> {
    let mut download = folder.download(path).await?;
    let mut bytes = Vec::new();
    download.body.read_to_end(&mut bytes).await?;
    Ok(bytes)
}

fn delete_arg(path: &str, rev: &str) -> DeleteArg {
    DeleteArg {
        path: path.to_owned(),
        parent_rev: Some(rev.to_owned()),
    }
}

async fn delete_one(folder: &LocalFolder, path: &str, rev: &str) -> Result<Metadata, BackendError> {
    let mut results = folder
        .delete_batch(vec![delete_arg(path, rev)])
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    results.remove(0)
}

#[tokio::test]
async fn lists_a_nested_tree_with_folders_and_files() {
    let fx = fixture();
    put(&fx.root, "Acme Marketing/a.jpg", b"a");
    put(&fx.root, "Acme Marketing/Sub/b.PNG", b"bb");
    put(&fx.root, "Acme Marketing/Sub/Deeper/c.txt", b"ccc");
    put(&fx.root, "top.txt", b"top");
    fs::create_dir(fx.root.join("Empty")).unwrap();

    let (entries, _) = list_until(&fx.folder, "", |entries| files(entries).len() == 4).await;
    let listed = files(&entries);
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        [
            "/acme marketing/a.jpg",
            "/acme marketing/sub/b.png",
            "/acme marketing/sub/deeper/c.txt",
            "/top.txt"
        ]
    );
    let b = &listed["/acme marketing/sub/b.png"];
    assert_eq!(b.path_display.as_deref(), Some("/Acme Marketing/Sub/b.PNG"));
    assert_eq!(b.name, "b.PNG");
    assert_eq!(b.size, 2);
    assert!(b.id.starts_with("id:"), "{}", b.id);
    assert!(
        b.rev.len() >= 9 && b.rev.chars().all(|c| c.is_ascii_hexdigit()),
        "{}",
        b.rev
    );
    assert_eq!(b.content_hash, None, "listing must not read file contents");
    let mut listed_folders = folders(&entries);
    listed_folders.sort();
    assert_eq!(
        listed_folders,
        [
            "/Acme Marketing",
            "/Acme Marketing/Sub",
            "/Acme Marketing/Sub/Deeper",
            "/Empty"
        ]
    );
    let ids: std::collections::BTreeSet<_> = listed.values().map(|file| file.id.clone()).collect();
    assert_eq!(ids.len(), 4, "ids are distinct");

    // One level, looked up in another case; entries keep their on-disk spelling.
    let (one_level, _) = list_all(&fx.folder, "/ACME marketing", false).await;
    assert_eq!(
        files(&one_level).keys().collect::<Vec<_>>(),
        ["/acme marketing/a.jpg"]
    );
    assert_eq!(folders(&one_level), ["/Acme Marketing/Sub"]);

    // A recursive listing of a sub-folder includes the folder itself, as Dropbox's does.
    let (sub, _) = list_all(&fx.folder, "/acme marketing/sub", true).await;
    assert_eq!(
        folders(&sub),
        ["/Acme Marketing/Sub", "/Acme Marketing/Sub/Deeper"]
    );
    assert_eq!(files(&sub).len(), 2);
}

#[tokio::test]
async fn listing_a_missing_folder_or_a_file_is_not_found() {
    let fx = fixture();
    put(&fx.root, "a.txt", b"a");
    assert!(matches!(
        fx.folder.list_folder("/nope", true).await,
        Err(BackendError::NotFound { .. })
    ));
    assert!(matches!(
        fx.folder.list_folder("/a.txt", true).await,
        Err(BackendError::NotFound { .. })
    ));
}

#[tokio::test]
async fn skips_dropbox_and_system_files() {
    let fx = fixture();
    for name in [
        "desktop.ini",
        "Thumbs.db",
        ".DS_Store",
        "Icon\r",
        ".dropbox",
        ".dropbox.attr",
        ".dropbox.cache/partial.jpg",
        "~$report.docx",
        ".~lock.sheet.ods#",
        "photo.jpg.tmp",
        "Sub/DESKTOP.INI",
    ] {
        put(&fx.root, name, b"system");
    }
    put(&fx.root, "Sub/real.jpg", b"real");
    let (entries, _) = list_until(&fx.folder, "", has_file("/sub/real.jpg")).await;
    // Written before real.jpg, so they are stable too: their absence is the ignore rule.
    assert_eq!(
        files(&entries).keys().collect::<Vec<_>>(),
        ["/sub/real.jpg"]
    );
    assert_eq!(
        folders(&entries),
        ["/Sub"],
        "the .dropbox.cache folder is not listed"
    );
    assert!(
        fx.folder
            .get_metadata("/desktop.ini")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        read_download(&fx.folder, "/Thumbs.db").await,
        Err(BackendError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_file_being_written_is_not_listed_until_it_is_stable() {
    /// Listings that must each finish within `stable_for` of a write: however slow the machine,
    /// the file keeps growing until this many have (a listing that took longer proves nothing
    /// and is not counted).
    const FRESH_CHECKS: usize = 5;
    let stable_for = Duration::from_millis(300);
    let fx = fixture_with(stable_for);
    let mut file = fs::File::create(fx.root.join("growing.mov")).unwrap();
    let chunk = [7u8; 4096];
    let mut checked_while_fresh = 0;
    let writing_since = Instant::now();
    while checked_while_fresh < FRESH_CHECKS {
        assert!(
            writing_since.elapsed() < DEADLINE,
            "only {checked_while_fresh} listings finished within {stable_for:?} of a write"
        );
        file.write_all(&chunk).unwrap();
        let written_at = Instant::now();
        let (entries, _) = list_all(&fx.folder, "", true).await;
        if written_at.elapsed() < stable_for {
            assert!(
                files(&entries).is_empty(),
                "listed while being written: {entries:?}"
            );
            checked_while_fresh += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(file);
    let total = fs::metadata(fx.root.join("growing.mov")).unwrap().len();
    let listed = stable_file(&fx.folder, "/growing.mov").await;
    assert_eq!(listed.size, total, "reported only once complete");
}

#[tokio::test]
async fn continue_reports_additions_modifications_deletions_and_renames() {
    let fx = fixture();
    put(&fx.root, "Acme/keep.jpg", b"keep");
    put(&fx.root, "Acme/change.jpg", b"v1");
    put(&fx.root, "Acme/remove.jpg", b"remove");
    put(&fx.root, "Acme/move.jpg", b"move");
    let (entries, cursor) = list_until(&fx.folder, "", |entries| files(entries).len() == 4).await;
    let before = files(&entries);

    // Nothing changed: an empty page.
    let page = fx.folder.list_folder_continue(&cursor).await.unwrap();
    assert!(page.entries.is_empty() && !page.has_more, "{page:?}");

    put(&fx.root, "Acme/new.jpg", b"new");
    let (seen, cursor) = changes_until(&fx.folder, &page.cursor, has_file("/acme/new.jpg")).await;
    assert_eq!(
        files(&seen).keys().collect::<Vec<_>>(),
        ["/acme/new.jpg"],
        "{seen:?}"
    );

    fs::OpenOptions::new()
        .append(true)
        .open(fx.root.join("Acme/change.jpg"))
        .unwrap()
        .write_all(b"+v2")
        .unwrap();
    let (seen, cursor) = changes_until(&fx.folder, &cursor, has_file("/acme/change.jpg")).await;
    let changed = &files(&seen)["/acme/change.jpg"];
    let old = &before["/acme/change.jpg"];
    assert_ne!(changed.rev, old.rev, "a content change gives a new rev");
    assert_eq!(changed.id, old.id, "same file, same id");
    assert_eq!(changed.size, 5);
    assert!(deleted(&seen).is_empty(), "{seen:?}");

    fs::remove_file(fx.root.join("Acme/remove.jpg")).unwrap();
    let (seen, cursor) = changes_until(&fx.folder, &cursor, |seen| {
        deleted(seen).contains(&"/acme/remove.jpg".to_owned())
    })
    .await;
    assert_eq!(deleted(&seen), ["/acme/remove.jpg"]);
    assert!(files(&seen).is_empty(), "{seen:?}");

    fs::create_dir(fx.root.join("Acme/Moved")).unwrap();
    fs::rename(
        fx.root.join("Acme/move.jpg"),
        fx.root.join("Acme/Moved/moved.jpg"),
    )
    .unwrap();
    let (seen, _) = changes_until(&fx.folder, &cursor, has_file("/acme/moved/moved.jpg")).await;
    assert_eq!(deleted(&seen), ["/acme/move.jpg"]);
    let moved = &files(&seen)["/acme/moved/moved.jpg"];
    assert_eq!(
        moved.id, before["/acme/move.jpg"].id,
        "a rename keeps the id"
    );
    assert_eq!(
        moved.rev, before["/acme/move.jpg"].rev,
        "a rename keeps the content's rev"
    );
    assert!(
        !files(&seen).contains_key("/acme/keep.jpg"),
        "unchanged files are not repeated"
    );
}

#[tokio::test]
async fn a_file_rewritten_in_place_is_reported_once_stable_with_its_final_size() {
    let fx = fixture();
    put(&fx.root, "a.jpg", b"first");
    let (_, cursor) = list_until(&fx.folder, "", has_file("/a.jpg")).await;
    put(&fx.root, "a.jpg", b"second version");
    let (seen, _) = changes_until(&fx.folder, &cursor, has_file("/a.jpg")).await;
    assert!(
        deleted(&seen).is_empty(),
        "a file being rewritten is not reported deleted: {seen:?}"
    );
    assert_eq!(files(&seen)["/a.jpg"].size, 14);
}

#[tokio::test]
async fn unknown_or_foreign_cursors_are_reset() {
    let fx = fixture();
    assert!(matches!(
        fx.folder.list_folder_continue("garbage").await,
        Err(BackendError::CursorReset)
    ));
    assert!(matches!(
        fx.folder.list_folder_continue("local1:zz:1").await,
        Err(BackendError::CursorReset)
    ));
    let (_, cursor) = list_all(&fx.folder, "", true).await;
    let other = LocalFolder::open(&fx.root, settings(STABLE_FOR)).unwrap();
    assert!(matches!(
        other.list_folder_continue(&cursor).await,
        Err(BackendError::CursorReset)
    ));
    assert!(matches!(
        other
            .wait_for_changes(&cursor, Duration::from_millis(10))
            .await,
        Err(BackendError::CursorReset)
    ));
    assert!(
        fx.folder.list_folder_continue(&cursor).await.is_ok(),
        "the issuing folder knows it"
    );
}

#[tokio::test]
async fn long_listings_are_paged_and_every_entry_comes_exactly_once() {
    let fx = fixture();
    let count = 2_105;
    for index in 0..count {
        put(&fx.root, &format!("Bulk/f{index:05}.jpg"), b"x");
    }
    list_until(&fx.folder, "", |entries| files(entries).len() == count).await;
    let first = fx.folder.list_folder("", true).await.unwrap();
    assert!(
        first.has_more,
        "{} entries came in one page",
        first.entries.len()
    );
    let (entries, cursor) = list_all(&fx.folder, "", true).await;
    assert_eq!(entries.len(), count + 1, "every file once plus the folder");
    let page = fx.folder.list_folder_continue(&cursor).await.unwrap();
    assert!(page.entries.is_empty() && !page.has_more);
}

#[tokio::test]
async fn lookups_ignore_case_but_keep_the_disk_spelling() {
    let fx = fixture();
    put(&fx.root, "Acme Marketing/Photo.JPG", b"photo");
    let Some(Metadata::File(file)) = fx
        .folder
        .get_metadata("/ACME MARKETING/photo.jpg")
        .await
        .unwrap()
    else {
        panic!("case-insensitive lookup failed");
    };
    assert_eq!(
        file.path_display.as_deref(),
        Some("/Acme Marketing/Photo.JPG")
    );
    assert_eq!(
        file.path_lower.as_deref(),
        Some("/acme marketing/photo.jpg")
    );
    assert_eq!(
        read_download(&fx.folder, "/acme marketing/PHOTO.jpg")
            .await
            .unwrap(),
        b"photo"
    );

    let folder = fx.folder.ensure_folder("/acme MARKETING").await.unwrap();
    assert_eq!(folder.path_display.as_deref(), Some("/Acme Marketing"));
    assert_eq!(
        fs::read_dir(&fx.root).unwrap().count(),
        1,
        "no second folder was made"
    );

    let uploaded = fx
        .folder
        .upload(
            "/ACME marketing/report.txt",
            b"r".to_vec(),
            WriteMode::Add,
            true,
        )
        .await
        .unwrap();
    assert_eq!(
        uploaded.path_display.as_deref(),
        Some("/Acme Marketing/report.txt")
    );
    assert!(fx.root.join("Acme Marketing/report.txt").is_file());
    assert!(
        fx.folder
            .get_metadata("/acme marketing/missing.jpg")
            .await
            .unwrap()
            .is_none()
    );
}

/// Linux can hold `Photo.jpg` and `photo.jpg` side by side; Dropbox cannot. One of them stands
/// for the shared `path_lower`, consistently in listing, download and delete; the other is
/// reported once the first is gone.
#[tokio::test]
async fn names_differing_only_in_case_are_served_one_after_the_other() {
    let fx = fixture();
    put(&fx.root, "Photo.jpg", b"upper");
    put(&fx.root, "photo.jpg", b"lower");
    let (entries, cursor) = list_until(&fx.folder, "", has_file("/photo.jpg")).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let first = &files(&entries)["/photo.jpg"];
    assert_eq!(first.name, "photo.jpg");
    let download = fx.folder.download("/photo.jpg").await.unwrap();
    assert_eq!(
        download.metadata.rev, first.rev,
        "the listed file is the one served"
    );
    assert!(
        delete_one(&fx.folder, "/photo.jpg", &first.rev)
            .await
            .is_ok()
    );
    assert_eq!(fs::read(fx.root.join("Photo.jpg")).unwrap(), b"upper");

    let (seen, _) = changes_until(&fx.folder, &cursor, has_file("/photo.jpg")).await;
    let second = &files(&seen)["/photo.jpg"];
    assert_eq!(second.name, "Photo.jpg");
    assert_ne!(second.id, first.id);
    assert_eq!(
        read_download(&fx.folder, "/photo.jpg").await.unwrap(),
        b"upper"
    );
}

#[tokio::test]
async fn ensure_folder_creates_missing_folders_and_refuses_a_file_in_the_way() {
    let fx = fixture();
    let made = fx.folder.ensure_folder("/Acme/Reports/2026").await.unwrap();
    assert_eq!(made.path_display.as_deref(), Some("/Acme/Reports/2026"));
    assert!(fx.root.join("Acme/Reports/2026").is_dir());
    let again = fx.folder.ensure_folder("/acme/reports/2026").await.unwrap();
    assert_eq!(again.id, made.id);
    put(&fx.root, "file.txt", b"f");
    assert!(matches!(
        fx.folder.ensure_folder("/file.txt/sub").await,
        Err(BackendError::Conflict { .. })
    ));
    let Some(Metadata::Folder(found)) = fx.folder.get_metadata("/ACME/reports").await.unwrap()
    else {
        panic!("folder metadata expected");
    };
    assert_eq!(found.path_display.as_deref(), Some("/Acme/Reports"));
}

#[tokio::test]
async fn download_serves_the_file_with_its_metadata() {
    let fx = fixture();
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    put(&fx.root, "Acme/big.bin", &content);
    let listed = stable_file(&fx.folder, "/acme/big.bin").await;
    let mut download = fx.folder.download("/acme/big.bin").await.unwrap();
    assert_eq!(download.metadata.rev, listed.rev);
    assert_eq!(download.metadata.size, content.len() as u64);
    assert_eq!(download.metadata.id, listed.id);
    let mut bytes = Vec::new();
    download.body.read_to_end(&mut bytes).await.unwrap();
    assert_eq!(bytes, content);
    assert_eq!(
        read_download(&fx.folder, &listed.id).await.unwrap(),
        content,
        "id: paths resolve too"
    );
    put(&fx.root, "Acme/empty.txt", b"");
    assert_eq!(
        read_download(&fx.folder, "/acme/empty.txt").await.unwrap(),
        b""
    );
    assert!(matches!(
        read_download(&fx.folder, "/acme").await,
        Err(BackendError::Refused { .. })
    ));
    assert!(matches!(
        read_download(&fx.folder, "/acme/none.bin").await,
        Err(BackendError::NotFound { .. })
    ));
}

/// Starts a download, reads a little, lets `meddle` change the file, then reads the rest.
async fn download_while(fx: &Fixture, meddle: impl FnOnce(&Path)) -> Result<Vec<u8>, io::Error> {
    let content = vec![b'z'; 400_000];
    put(&fx.root, "victim.bin", &content);
    stable_file(&fx.folder, "/victim.bin").await;
    let mut download = fx.folder.download("/victim.bin").await.unwrap();
    let mut bytes = vec![0u8; 1_000];
    download.body.read_exact(&mut bytes).await.unwrap();
    meddle(&fx.root.join("victim.bin"));
    download.body.read_to_end(&mut bytes).await.map(|_| bytes)
}

#[tokio::test]
async fn a_file_appended_during_the_download_fails_it() {
    let fx = fixture();
    let result = download_while(&fx, |path| {
        fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(b"more")
            .unwrap();
    })
    .await;
    assert_eq!(
        result.map(|bytes| bytes.len()).unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
}

#[tokio::test]
async fn a_file_truncated_during_the_download_fails_it() {
    let fx = fixture();
    let result = download_while(&fx, |path| {
        fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(10_000)
            .unwrap();
    })
    .await;
    assert_eq!(
        result.map(|bytes| bytes.len()).unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
}

#[tokio::test]
async fn a_file_overwritten_in_place_at_the_same_size_during_the_download_fails_it() {
    let fx = fixture();
    let result = download_while(&fx, |path| {
        fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .write_all_at(b"XXXX", 200_000)
            .unwrap();
    })
    .await;
    let error = result.map(|bytes| bytes.len()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("changed while it was read"),
        "{error}"
    );
}

#[tokio::test]
async fn a_rev_download_only_serves_that_exact_revision() {
    let fx = fixture();
    put(&fx.root, "Acme/a.jpg", b"one");
    let listed = stable_file(&fx.folder, "/acme/a.jpg").await;
    assert_eq!(
        read_download(&fx.folder, &format!("rev:{}", listed.rev))
            .await
            .unwrap(),
        b"one"
    );
    put(&fx.root, "Acme/a.jpg", b"two!");
    assert!(matches!(
        read_download(&fx.folder, &format!("rev:{}", listed.rev)).await,
        Err(BackendError::NotFound { .. })
    ));
    assert!(matches!(
        read_download(&fx.folder, "rev:0123456789abcdef").await,
        Err(BackendError::NotFound { .. })
    ));
}

#[tokio::test]
async fn delete_removes_only_the_exact_revision() {
    let fx = fixture();
    put(&fx.root, "Acme/a.jpg", b"imported");
    put(&fx.root, "Acme/b.jpg", b"b");
    let a = stable_file(&fx.folder, "/acme/a.jpg").await;
    let b = stable_file(&fx.folder, "/acme/b.jpg").await;

    put(&fx.root, "Acme/a.jpg", b"edited after the import");
    let results = fx
        .folder
        .delete_batch(vec![
            delete_arg("/acme/a.jpg", &a.rev),
            delete_arg("/acme/missing.jpg", &a.rev),
            delete_arg("/ACME/B.JPG", &b.rev),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert!(
        matches!(results[0], Err(BackendError::Conflict { .. })),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(results[1], Err(BackendError::NotFound { .. })),
        "{:?}",
        results[1]
    );
    match &results[2] {
        Ok(Metadata::File(gone)) => assert_eq!(gone.rev, b.rev),
        other => panic!("b.jpg should be deleted: {other:?}"),
    }
    assert_eq!(
        fs::read(fx.root.join("Acme/a.jpg")).unwrap(),
        b"edited after the import",
        "intact"
    );
    assert!(!fx.root.join("Acme/b.jpg").exists());
    assert!(fx.root.join("Acme").is_dir(), "folders stay");
    let leftovers: Vec<_> = fs::read_dir(fx.root.join("Acme"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["a.jpg"], "no temporary files left behind");

    let Some(Metadata::File(current)) = fx.folder.get_metadata("/acme/a.jpg").await.unwrap() else {
        panic!("a.jpg is still there");
    };
    assert!(
        delete_one(&fx.folder, "/acme/a.jpg", &current.rev)
            .await
            .is_ok()
    );
    assert!(!fx.root.join("Acme/a.jpg").exists());
    assert!(matches!(
        delete_one(&fx.folder, "/acme/a.jpg", &current.rev).await,
        Err(BackendError::NotFound { .. })
    ));
}

/// A batch long enough to be deleted by two threads still answers entry by entry, in order,
/// across folders and with stale and missing entries among the good ones.
#[tokio::test]
async fn a_long_delete_batch_answers_every_entry_in_order() {
    let fx = fixture();
    let mut expected = Vec::new();
    let mut entries = Vec::new();
    for i in 0..150 {
        let relative = format!("Acme/f{}/p{i:03}.jpg", i % 3);
        put(&fx.root, &relative, format!("photo {i}").as_bytes());
    }
    let (listed, _) = list_until(&fx.folder, "/acme", |all| files(all).len() == 150).await;
    let listed = files(&listed);
    for i in 0..150 {
        let path = format!("/acme/f{}/p{i:03}.jpg", i % 3);
        let rev = listed[&path].rev.clone();
        match i % 10 {
            // Changed since it was listed: must stay.
            3 => {
                put(&fx.root, &path[1..].replacen("acme", "Acme", 1), b"edited");
                entries.push(delete_arg(&path, &rev));
                expected.push("conflict");
            }
            7 => {
                entries.push(delete_arg(&format!("/acme/missing{i}.jpg"), &rev));
                expected.push("not found");
            }
            _ => {
                entries.push(delete_arg(&path, &rev));
                expected.push("deleted");
            }
        }
    }
    let results = fx.folder.delete_batch(entries.clone()).await.unwrap();
    assert_eq!(results.len(), entries.len());
    for ((entry, result), expected) in entries.iter().zip(&results).zip(&expected) {
        let got = match result {
            Ok(Metadata::File(file)) => {
                assert_eq!(file.path_lower.as_deref(), Some(entry.path.as_str()));
                "deleted"
            }
            Err(BackendError::Conflict { .. }) => "conflict",
            Err(BackendError::NotFound { .. }) => "not found",
            other => panic!("{}: {other:?}", entry.path),
        };
        assert_eq!(got, *expected, "{}", entry.path);
    }
    let left: usize = (0..3)
        .map(|f| {
            fs::read_dir(fx.root.join(format!("Acme/f{f}")))
                .unwrap()
                .count()
        })
        .sum();
    assert_eq!(
        left, 30,
        "the 15 edited files and the 15 whose entry named another path stay, nothing else"
    );
}

#[tokio::test]
async fn folders_are_never_deleted_and_a_delete_needs_a_rev() {
    let fx = fixture();
    put(&fx.root, "Acme/inside.jpg", b"x");
    let file = stable_file(&fx.folder, "/acme/inside.jpg").await;
    assert!(delete_one(&fx.folder, "/acme", &file.rev).await.is_err());
    let unconditional = fx.folder.delete_batch(vec![DeleteArg {
        path: "/acme/inside.jpg".into(),
        parent_rev: None,
    }]);
    assert!(unconditional.await.unwrap()[0].is_err());
    assert_eq!(fs::read(fx.root.join("Acme/inside.jpg")).unwrap(), b"x");
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_are_never_listed_downloaded_deleted_or_written_through() {
    let fx = fixture();
    put(&fx.outside, "secret.txt", b"outside secret");
    std::os::unix::fs::symlink(fx.outside.join("secret.txt"), fx.root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(&fx.outside, fx.root.join("LinkDir")).unwrap();
    put(&fx.root, "real.txt", b"real");

    let (entries, _) = list_until(&fx.folder, "", has_file("/real.txt")).await;
    assert_eq!(entries.len(), 1, "only real.txt: {entries:?}");

    // The outside file's rev, as a backend rooted there would report it.
    let outside_backend = LocalFolder::open(&fx.outside, settings(STABLE_FOR)).unwrap();
    let secret = stable_file(&outside_backend, "/secret.txt").await;

    for path in ["/link.txt", "/LinkDir/secret.txt", "/linkdir/secret.txt"] {
        assert!(
            matches!(
                read_download(&fx.folder, path).await,
                Err(BackendError::NotFound { .. })
            ),
            "{path}"
        );
        assert!(
            fx.folder.get_metadata(path).await.unwrap().is_none(),
            "{path}"
        );
        assert!(
            delete_one(&fx.folder, path, &secret.rev).await.is_err(),
            "{path}"
        );
        assert!(fx.folder.list_folder(path, true).await.is_err(), "{path}");
    }
    assert!(
        read_download(&fx.folder, &format!("rev:{}", secret.rev))
            .await
            .is_err()
    );
    assert!(
        fx.folder
            .upload("/LinkDir/planted.txt", b"p".to_vec(), WriteMode::Add, true)
            .await
            .is_err()
    );
    assert!(fx.folder.ensure_folder("/LinkDir/sub").await.is_err());
    assert_eq!(
        fs::read(fx.outside.join("secret.txt")).unwrap(),
        b"outside secret"
    );
    assert_eq!(
        fs::read_dir(&fx.outside).unwrap().count(),
        1,
        "nothing was written outside"
    );
    assert!(
        fs::symlink_metadata(fx.root.join("link.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[tokio::test]
async fn paths_that_climb_out_of_the_root_are_refused() {
    let fx = fixture();
    put(&fx.outside, "secret.txt", b"outside secret");
    put(&fx.root, "Acme/a.txt", b"a");
    for path in [
        "/../outside/secret.txt",
        "/Acme/../../outside/secret.txt",
        "/./Acme/a.txt",
        "Acme/a.txt",
        "//a",
    ] {
        assert!(
            matches!(
                read_download(&fx.folder, path).await,
                Err(BackendError::Refused { .. })
            ),
            "{path}"
        );
        assert!(fx.folder.get_metadata(path).await.is_err(), "{path}");
        assert!(fx.folder.list_folder(path, true).await.is_err(), "{path}");
        assert!(
            delete_one(&fx.folder, path, "0123456789").await.is_err(),
            "{path}"
        );
        assert!(
            fx.folder
                .upload(path, b"evil".to_vec(), WriteMode::Overwrite, false)
                .await
                .is_err(),
            "{path}"
        );
    }
    assert!(
        fx.folder
            .upload("/../evil.txt", b"evil".to_vec(), WriteMode::Add, true)
            .await
            .is_err()
    );
    assert!(fx.folder.ensure_folder("/../evil").await.is_err());
    assert!(!fx.root.parent().unwrap().join("evil.txt").exists());
    assert!(!fx.root.parent().unwrap().join("evil").exists());
    assert_eq!(
        fs::read(fx.outside.join("secret.txt")).unwrap(),
        b"outside secret"
    );
}

#[tokio::test]
async fn upload_autorenames_and_skips_identical_content() {
    let fx = fixture();
    let first = fx
        .folder
        .upload("/Acme/Report.txt", b"one".to_vec(), WriteMode::Add, true)
        .await
        .unwrap();
    assert_eq!(first.path_display.as_deref(), Some("/Acme/Report.txt"));
    assert_eq!(first.size, 3);

    let same = fx
        .folder
        .upload("/acme/report.txt", b"one".to_vec(), WriteMode::Add, true)
        .await
        .unwrap();
    assert_eq!(
        (same.id.as_str(), same.rev.as_str()),
        (first.id.as_str(), first.rev.as_str()),
        "identical: no-op"
    );

    let second = fx
        .folder
        .upload("/Acme/Report.txt", b"two".to_vec(), WriteMode::Add, true)
        .await
        .unwrap();
    assert_eq!(second.name, "Report (1).txt");
    let third = fx
        .folder
        .upload("/Acme/Report.txt", b"three".to_vec(), WriteMode::Add, true)
        .await
        .unwrap();
    assert_eq!(third.name, "Report (2).txt");
    assert_eq!(
        fs::read(fx.root.join("Acme/Report (2).txt")).unwrap(),
        b"three"
    );

    let refused = fx
        .folder
        .upload("/Acme/Report.txt", b"four".to_vec(), WriteMode::Add, false)
        .await;
    assert!(
        matches!(refused, Err(BackendError::Conflict { .. })),
        "{refused:?}"
    );
    let stale = fx.folder.upload(
        "/Acme/Report.txt",
        b"five".to_vec(),
        WriteMode::Update("0123456789".into()),
        false,
    );
    assert!(matches!(stale.await, Err(BackendError::Conflict { .. })));
    let updated = fx
        .folder
        .upload(
            "/Acme/report.TXT",
            b"six".to_vec(),
            WriteMode::Update(first.rev.clone()),
            false,
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "Report.txt", "the existing spelling is kept");
    assert_ne!(updated.rev, first.rev);
    let overwritten = fx
        .folder
        .upload(
            "/Acme/Report.txt",
            b"seven".to_vec(),
            WriteMode::Overwrite,
            false,
        )
        .await;
    assert_eq!(overwritten.unwrap().size, 5);
    assert_eq!(fs::read(fx.root.join("Acme/Report.txt")).unwrap(), b"seven");
    assert!(
        fx.folder
            .upload("/Acme", b"x".to_vec(), WriteMode::Overwrite, false)
            .await
            .is_err(),
        "a folder"
    );
    assert!(
        fx.folder
            .upload("/Acme/x.tmp", b"x".to_vec(), WriteMode::Add, true)
            .await
            .is_err(),
        "ignored name"
    );

    let mut names: Vec<_> = fs::read_dir(fx.root.join("Acme"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["Report (1).txt", "Report (2).txt", "Report.txt"],
        "no temporary files left"
    );
}

#[tokio::test]
async fn an_upload_sweeps_only_dead_writers_upload_temporaries_of_its_folder() {
    let fx = fixture();
    // A writer that has ended, as a killed one has; and one still running (this test).
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let ended = child.id();
    child.wait().unwrap();
    let running = std::process::id();
    let stale = &format!(".~smartimage-upload-{running}-abc-0.tmp");
    let killed = &format!(".~smartimage-upload-{ended}-abd-0.tmp");
    let fresh = &format!(".~smartimage-upload-{running}-def-0.tmp");
    let interrupted_delete = &format!(".~smartimage-deleting-{ended}-123-0.tmp");
    let someone_elses = ".~lock.report.odt#";
    for name in [stale, killed, fresh, interrupted_delete, someone_elses] {
        put(&fx.root, &format!("Acme/{name}"), b"left over");
    }
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    for name in [stale, interrupted_delete, someone_elses] {
        let file = fs::File::options()
            .write(true)
            .open(fx.root.join("Acme").join(name))
            .unwrap();
        file.set_modified(two_hours_ago).unwrap();
    }
    fx.folder
        .upload("/Acme/report.txt", b"r".to_vec(), WriteMode::Add, true)
        .await
        .unwrap();
    for name in [stale, killed] {
        assert!(
            !fx.root.join("Acme").join(name).exists(),
            "a crash's leftover {name} is removed"
        );
    }
    for name in [fresh, interrupted_delete, someone_elses] {
        assert!(fx.root.join("Acme").join(name).exists(), "{name} must stay");
    }
}

/// Decision: a hard-linked file is listed, downloaded and deleted like any other. Deleting
/// unlinks only the name inside the root; the other name (inside or outside) and its data stay.
#[tokio::test]
async fn a_hard_link_to_an_outside_file_is_imported_but_the_outside_file_survives() {
    let fx = fixture();
    put(&fx.outside, "original.txt", b"shared bytes");
    fs::hard_link(fx.outside.join("original.txt"), fx.root.join("linked.txt")).unwrap();
    assert_eq!(
        fs::metadata(fx.outside.join("original.txt"))
            .unwrap()
            .nlink(),
        2
    );

    let linked = stable_file(&fx.folder, "/linked.txt").await;
    assert_eq!(
        read_download(&fx.folder, "/linked.txt").await.unwrap(),
        b"shared bytes"
    );
    assert!(
        delete_one(&fx.folder, "/linked.txt", &linked.rev)
            .await
            .is_ok()
    );

    assert!(!fx.root.join("linked.txt").exists());
    let original = fs::metadata(fx.outside.join("original.txt")).unwrap();
    assert_eq!(original.nlink(), 1, "only our name was removed");
    assert_eq!(
        fs::read(fx.outside.join("original.txt")).unwrap(),
        b"shared bytes"
    );
}

#[tokio::test]
async fn wait_for_changes_times_out_when_idle_and_wakes_on_a_new_file() {
    let fx = fixture();
    put(&fx.root, "Acme/old.jpg", b"old");
    let (_, cursor) = list_until(&fx.folder, "", has_file("/acme/old.jpg")).await;

    let idle = Duration::from_millis(300);
    let started = Instant::now();
    let waited = fx.folder.wait_for_changes(&cursor, idle).await.unwrap();
    assert!(!waited.changes);
    assert!(
        started.elapsed() >= idle,
        "returned after {:?}",
        started.elapsed()
    );

    let root = fx.root.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        put(&root, "Acme/new.jpg", b"new");
    });
    let started = Instant::now();
    let waited = fx.folder.wait_for_changes(&cursor, DEADLINE).await.unwrap();
    writer.join().unwrap();
    assert!(waited.changes);
    assert!(
        started.elapsed() < DEADLINE / 2,
        "took {:?}",
        started.elapsed()
    );
    let page = fx.folder.list_folder_continue(&cursor).await.unwrap();
    assert_eq!(
        files(&page.entries).keys().collect::<Vec<_>>(),
        ["/acme/new.jpg"]
    );
}

#[tokio::test]
async fn wait_for_changes_wakes_once_a_file_being_written_is_complete() {
    let stable_for = Duration::from_millis(400);
    let fx = fixture_with(stable_for);
    let (_, cursor) = list_all(&fx.folder, "", true).await;
    let root = fx.root.clone();
    let writer = std::thread::spawn(move || {
        let mut file = fs::File::create(root.join("clip.mov")).unwrap();
        let mut last_write = Instant::now();
        for _ in 0..25 {
            std::thread::sleep(Duration::from_millis(20));
            file.write_all(&[1u8; 1000]).unwrap();
            last_write = Instant::now();
        }
        last_write
    });
    let waited = fx.folder.wait_for_changes(&cursor, DEADLINE).await.unwrap();
    let woke = Instant::now();
    let last_write = writer.join().unwrap();
    assert!(waited.changes);
    assert!(
        woke > last_write,
        "woke while the file was still being written"
    );
    // Allow for the file system's coarse timestamps, but not for an early wake-up.
    assert!(
        woke - last_write >= stable_for / 2,
        "woke {:?} after the last write",
        woke - last_write
    );
    let page = fx.folder.list_folder_continue(&cursor).await.unwrap();
    assert_eq!(
        files(&page.entries)["/clip.mov"].size,
        25_000,
        "the one wake-up sees the whole file"
    );
}

#[tokio::test]
async fn removing_the_listed_folder_wakes_the_waiter_and_continue_says_not_found() {
    let fx = fixture();
    put(&fx.root, "Acme/a.jpg", b"a");
    list_until(&fx.folder, "", has_file("/acme/a.jpg")).await;
    let (_, cursor) = list_all(&fx.folder, "/acme", true).await;
    fs::remove_dir_all(fx.root.join("Acme")).unwrap();
    let waited = fx.folder.wait_for_changes(&cursor, DEADLINE).await.unwrap();
    assert!(waited.changes);
    assert!(matches!(
        fx.folder.list_folder_continue(&cursor).await,
        Err(BackendError::NotFound { .. })
    ));
}

#[tokio::test]
async fn hostile_names_round_trip_through_list_download_and_delete() {
    let fx = fixture();
    let long_name = format!("{}.jpeg", "é".repeat(125));
    assert_eq!(long_name.len(), 255);
    let names = [
        "control\u{1}\u{1b}[31m\u{7f}.txt".to_owned(),
        "new\nline.txt".to_owned(),
        "emoji 😀🎉.jpg".to_owned(),
        "caf\u{e9}.txt".to_owned(),   // NFC
        "cafe\u{301}.txt".to_owned(), // NFD: a different name on Linux, and kept apart
        "  leading and trailing  ".to_owned(),
        "back\\slash \"quoted\" 'single'".to_owned(),
        long_name,
    ];
    for (index, name) in names.iter().enumerate() {
        put(
            &fx.root,
            &format!("Hostile/{name}"),
            format!("content {index}").as_bytes(),
        );
    }
    let (entries, _) = list_until(&fx.folder, "", |entries| {
        files(entries).len() == names.len()
    })
    .await;
    let listed = files(&entries);
    for (index, name) in names.iter().enumerate() {
        let display = format!("/Hostile/{name}");
        let file = &listed[&display.to_lowercase()];
        assert_eq!(file.path_display.as_deref(), Some(display.as_str()));
        assert_eq!(file.name, *name);
        let expected = format!("content {index}").into_bytes();
        assert_eq!(
            read_download(&fx.folder, &display).await.unwrap(),
            expected,
            "{name:?}"
        );
        assert_eq!(
            read_download(&fx.folder, file.path_lower.as_deref().unwrap())
                .await
                .unwrap(),
            expected
        );
    }
    for name in &names {
        let display = format!("/Hostile/{name}");
        let rev = &listed[&display.to_lowercase()].rev;
        assert!(
            delete_one(&fx.folder, &display, rev).await.is_ok(),
            "{name:?}"
        );
        assert!(!fx.root.join("Hostile").join(name).exists(), "{name:?}");
    }
    assert_eq!(fs::read_dir(fx.root.join("Hostile")).unwrap().count(), 0);
}

#[tokio::test]
async fn a_name_that_is_not_utf8_is_listed_escaped_and_never_downloaded_or_deleted() {
    use std::os::unix::ffi::OsStrExt;
    let fx = fixture();
    let bad = std::ffi::OsStr::from_bytes(b"latin1 caf\xe9.jpg");
    fs::write(fx.root.join(bad), b"bad").unwrap();
    let bad_folder = fx.root.join(std::ffi::OsStr::from_bytes(b"dir\xff"));
    fs::create_dir(&bad_folder).unwrap();
    fs::write(bad_folder.join("inner\\.jpg"), b"inner").unwrap();
    put(&fx.root, "good.jpg", b"good");
    let (entries, _) = list_until(&fx.folder, "", |entries| files(entries).len() == 3).await;
    let listed = files(&entries);
    assert!(!listed["/good.jpg"].escaped_name);
    // Each byte that is not text as \xNN; below such a folder, every name is escaped too.
    let escaped = &listed["/latin1 caf\\xe9.jpg"];
    assert_eq!(escaped.name, "latin1 caf\\xE9.jpg");
    assert_eq!(
        escaped.path_display.as_deref(),
        Some("/latin1 caf\\xE9.jpg")
    );
    assert!(escaped.escaped_name);
    let inner = &listed["/dir\\xff/inner\\x5c.jpg"];
    assert_eq!(
        inner.path_display.as_deref(),
        Some("/dir\\xFF/inner\\x5C.jpg")
    );
    assert!(inner.escaped_name);
    assert_eq!(folders(&entries), vec!["/dir\\xFF".to_string()]);
    for file in [escaped, inner] {
        let path = file.path_display.as_deref().unwrap();
        assert!(
            matches!(
                read_download(&fx.folder, path).await,
                Err(BackendError::NotFound { .. })
            ),
            "{path}"
        );
        assert!(delete_one(&fx.folder, path, &file.rev).await.is_err());
    }
    assert_eq!(fs::read(fx.root.join(bad)).unwrap(), b"bad");
    assert_eq!(fs::read(bad_folder.join("inner\\.jpg")).unwrap(), b"inner");
}

/// Deletes `files` (paths as listed) at their listed revs, as the import does.
async fn delete_listed(folder: &LocalFolder, entries: &[Metadata], paths: &[&str]) {
    let listed = files(entries);
    let batch = paths
        .iter()
        .map(|path| delete_arg(path, &listed[&path.to_lowercase()].rev))
        .collect();
    for result in folder.delete_batch(batch).await.unwrap() {
        result.unwrap();
    }
}

fn parents(paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .map(|path| path.rsplit_once('/').unwrap().0.to_owned())
        .collect()
}

#[tokio::test]
async fn emptied_folders_go_up_to_the_account_folder_and_no_further() {
    let fx = fixture();
    let imported = [
        "/Acme/tree/2026/spring/raw/a.jpg",
        "/Acme/tree/2026/spring/b.jpg",
        "/Acme/tree/2026/summer/c.jpg",
        "/Acme/keep/d.jpg",
        "/Acme/mac/e.jpg",
        "/Acme/late/f.jpg",
        "/Acme/top.jpg",
        "/Solo/only/g.jpg",
    ];
    for path in imported {
        put(&fx.root, &path[1..], b"imported");
    }
    put(&fx.root, "Acme/keep/failed.jpg", b"failed, stays");
    put(&fx.root, "Acme/mac/.DS_Store", b"finder");
    put(&fx.root, "Acme/untouched/empty/.keep-me", b"");
    fs::remove_file(fx.root.join("Acme/untouched/empty/.keep-me")).unwrap();
    let (entries, _) = list_until(&fx.folder, "", |entries| files(entries).len() == 9).await;
    delete_listed(&fx.folder, &entries, &imported).await;
    // The customer drops a file into a folder the import just emptied, before it is removed.
    put(&fx.root, "Acme/late/new.jpg", b"new");

    let removed = fx
        .folder
        .remove_emptied_folders("/Acme", parents(&imported))
        .await
        .unwrap();
    assert!(!fx.root.join("Acme/tree").exists(), "the whole tree went");
    assert_eq!(removed, 5, "raw, spring, summer, 2026, tree");
    assert_eq!(
        fs::read(fx.root.join("Acme/keep/failed.jpg")).unwrap(),
        b"failed, stays"
    );
    assert!(
        fx.root.join("Acme/mac/.DS_Store").exists(),
        "a .DS_Store keeps its folder"
    );
    assert_eq!(fs::read(fx.root.join("Acme/late/new.jpg")).unwrap(), b"new");
    assert!(
        fx.root.join("Acme/untouched/empty").is_dir(),
        "a folder the import did not empty is not ours to remove"
    );
    assert!(fx.root.join("Acme").is_dir());
    assert!(
        fx.root.join("Solo/only").is_dir(),
        "only folders below the given account folder"
    );

    assert_eq!(
        fx.folder
            .remove_emptied_folders("/solo", parents(&["/Solo/only/g.jpg"]))
            .await
            .unwrap(),
        1
    );
    assert!(!fx.root.join("Solo/only").exists());
    assert!(
        fx.root.join("Solo").is_dir(),
        "the account folder stays, even empty"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn removing_emptied_folders_never_follows_a_symlink() {
    let fx = fixture();
    fs::create_dir_all(fx.outside.join("empty")).unwrap();
    fs::create_dir(fx.root.join("Acme")).unwrap();
    std::os::unix::fs::symlink(&fx.outside, fx.root.join("Acme/link")).unwrap();
    std::os::unix::fs::symlink(fx.outside.join("empty"), fx.root.join("Acme/empty")).unwrap();
    let removed = fx
        .folder
        .remove_emptied_folders(
            "/Acme",
            vec!["/Acme/link/empty".into(), "/Acme/empty".into()],
        )
        .await
        .unwrap();
    assert_eq!(removed, 0);
    assert!(fx.outside.join("empty").is_dir());
    for link in ["Acme/link", "Acme/empty"] {
        assert!(
            fs::symlink_metadata(fx.root.join(link))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}

#[tokio::test]
async fn the_account_id_is_stable_per_root() {
    let fx = fixture();
    let account = fx.folder.current_account().await.unwrap();
    assert!(
        account.account_id.starts_with("local:"),
        "{}",
        account.account_id
    );
    let again = LocalFolder::open(&fx.root.join("../Dropbox"), settings(STABLE_FOR)).unwrap();
    assert_eq!(
        again.current_account().await.unwrap().account_id,
        account.account_id
    );
    let elsewhere = LocalFolder::open(&fx.outside, settings(STABLE_FOR)).unwrap();
    assert_ne!(
        elsewhere.current_account().await.unwrap().account_id,
        account.account_id
    );
}

#[test]
fn open_requires_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, b"x").unwrap();
    assert!(LocalFolder::open(&file, LocalSettings::default()).is_err());
    assert!(LocalFolder::open(&dir.path().join("missing"), LocalSettings::default()).is_err());
    let folder = LocalFolder::open(dir.path(), LocalSettings::default()).unwrap();
    assert_eq!(folder.root(), dir.path().canonicalize().unwrap());
    assert_eq!(LocalSettings::default().stable_for, Duration::from_secs(2));
}
