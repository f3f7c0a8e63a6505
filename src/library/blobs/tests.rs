use super::*;

#[test]
fn a_batch_of_pending_blobs_becomes_visible_only_when_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let contents: Vec<Vec<u8>> = vec![b"first".to_vec(), b"second".to_vec(), b"first".to_vec()];
    let mut pending = Vec::new();
    for bytes in &contents {
        let mut writer = store.writer().unwrap();
        writer.write_all(bytes).unwrap();
        let blob = writer.finish_unsynced().unwrap();
        assert_eq!(
            std::fs::read(blob.temp_path()).unwrap(),
            *bytes,
            "readable before commit"
        );
        assert!(
            !store.contains(&blob.blob().sha256),
            "not visible before commit"
        );
        pending.push(blob);
    }
    let committed = store.commit_batch(pending).unwrap();
    assert_eq!(committed.len(), 3);
    assert_eq!(committed[0], committed[2], "same bytes, same blob");
    for blob in &committed {
        assert!(matches!(
            store.verify(&blob.sha256).unwrap(),
            BlobCheck::Ok { .. }
        ));
    }
    assert_eq!(
        store.remove_temp_files().unwrap(),
        0,
        "no temp file left, the duplicate's included"
    );
}

#[test]
fn a_dropped_pending_blob_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let mut writer = store.writer().unwrap();
    writer.write_all(b"abandoned").unwrap();
    let pending = writer.finish_unsynced().unwrap();
    let temp = pending.temp_path().to_path_buf();
    drop(pending);
    assert!(!temp.exists());
    assert_eq!(store.inventory(|_| {}).unwrap().blobs, 0);
}

#[test]
fn large_blobs_hashed_on_a_second_thread_get_the_same_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    // Past the pipeline threshold, in odd chunk sizes that straddle it.
    let data: Vec<u8> = (0..(crate::pipelined_hash::PIPELINE_AFTER_BYTES as usize * 2 + 12_345))
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let mut writer = store.writer().unwrap();
    for chunk in data.chunks(777_777) {
        writer.write_all(chunk).unwrap();
    }
    let blob = writer.commit().unwrap();
    assert_eq!(blob.sha256, to_hex(&Sha256::digest(&data)));
    assert_eq!(blob.size, data.len() as u64);
    assert!(matches!(
        store.verify(&blob.sha256).unwrap(),
        BlobCheck::Ok { .. }
    ));
}
use proptest::prelude::*;

/// FIPS 180-2 test vectors.
const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn new_store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(&dir.path().join("blobs")).unwrap();
    (dir, store)
}

fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// Every file in the temp area, its subdirectories included.
fn temp_files(store: &BlobStore) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(store.root().join(TEMP_DIR_NAME)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            found.push(path);
        }
    }
    found
}

/// Every file in the store outside `tmp/`.
/// Every file under the root but the temp dir and the layout marker.
fn stored_files(store: &BlobStore) -> Vec<PathBuf> {
    fn collect(dir: &Path, skip: &[PathBuf], found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if skip.contains(&path) {
            } else if path.is_dir() {
                collect(&path, skip, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    let skip = [
        store.root().join(TEMP_DIR_NAME),
        store.root().join(LAYOUT_MARKER),
    ];
    collect(store.root(), &skip, &mut found);
    found
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&fs::metadata(path).unwrap())
}

#[cfg(not(unix))]
fn inode(_path: &Path) -> u64 {
    0
}

fn read_blob(store: &BlobStore, sha256: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    store
        .open_blob(sha256)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// Deterministic bytes that do not repeat within a buffer, so chunk mix-ups change the hash.
fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

#[test]
fn open_creates_the_root_and_its_temp_dir() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data").join("blobs");
    let store = BlobStore::open(&root).unwrap();
    assert!(root.join(TEMP_DIR_NAME).is_dir());
    assert_eq!(store.root(), root);
}

#[test]
fn put_bytes_round_trips_through_open_and_verify() {
    let (_dir, store) = new_store();
    let content = b"a picture is worth a thousand bytes";
    let blob = store.put_bytes(content).unwrap();
    assert_eq!(blob.size, content.len() as u64);
    assert_eq!(read_blob(&store, &blob.sha256), content);
    assert_eq!(
        store.verify(&blob.sha256).unwrap(),
        BlobCheck::Ok {
            size: content.len() as u64
        }
    );
    assert!(store.contains(&blob.sha256));
}

#[test]
fn stores_content_under_its_sha256_in_one_fan_out_level() {
    let (_dir, store) = new_store();
    let blob = store.put_bytes(b"abc").unwrap();
    assert_eq!(blob.sha256, ABC_SHA256);
    let expected_path = store.root().join("ba").join(ABC_SHA256);
    assert_eq!(store.path_of(ABC_SHA256), Some(expected_path.clone()));
    assert_eq!(store.path(&blob), Some(expected_path.clone()));
    assert_eq!(fs::read(expected_path).unwrap(), b"abc");
}

#[test]
fn opening_a_store_of_the_two_level_layout_moves_its_blobs_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let legacy = |sha: &str| root.join(&sha[..2]).join(&sha[2..4]).join(sha);
    let abc_old = legacy(ABC_SHA256);
    let empty_old = legacy(EMPTY_SHA256);
    fs::create_dir_all(abc_old.parent().unwrap()).unwrap();
    fs::create_dir_all(empty_old.parent().unwrap()).unwrap();
    fs::write(&abc_old, b"abc").unwrap();
    fs::write(&empty_old, b"").unwrap();
    // A crash between the move and removing the old name leaves both; one copy is kept.
    fs::write(root.join("e3").join(EMPTY_SHA256), b"").unwrap();
    // Something an admin put in an old directory is not ours to move or delete.
    fs::write(abc_old.with_file_name("notes.txt"), b"mine").unwrap();
    // An old copy whose bytes do not match its name never replaces the new one.
    let pattern = patterned(100);
    let good = sha256_hex(&pattern);
    fs::create_dir_all(legacy(&good).parent().unwrap()).unwrap();
    fs::write(legacy(&good), b"damaged").unwrap();
    fs::create_dir_all(root.join(&good[..2])).unwrap();
    fs::write(root.join(&good[..2]).join(&good), &pattern).unwrap();

    let store = BlobStore::open(&root).unwrap();

    assert_eq!(read_blob(&store, ABC_SHA256), b"abc");
    assert_eq!(
        store.path_of(ABC_SHA256),
        Some(root.join("ba").join(ABC_SHA256))
    );
    assert_eq!(
        store.verify(EMPTY_SHA256).unwrap(),
        BlobCheck::Ok { size: 0 }
    );
    assert!(!abc_old.exists() && !empty_old.exists());
    assert!(
        !empty_old.parent().unwrap().exists(),
        "empty old directory left"
    );
    assert_eq!(
        fs::read(abc_old.with_file_name("notes.txt")).unwrap(),
        b"mine"
    );
    assert_eq!(read_blob(&store, &good), pattern);
    assert_eq!(fs::read(legacy(&good)).unwrap(), b"damaged");
    let stats = store.inventory(|_| {}).unwrap();
    assert_eq!(stats.blobs, 3);
    let mut foreign = stats.foreign.clone();
    foreign.sort();
    let mut expected = vec![
        abc_old.parent().unwrap().to_owned(),
        legacy(&good).parent().unwrap().to_owned(),
    ];
    expected.sort();
    assert_eq!(foreign, expected);
    // Once moved, the store says so and later opens do not search every blob again.
    assert!(root.join("LAYOUT").is_file());
    let late = legacy(EMPTY_SHA256);
    fs::create_dir_all(late.parent().unwrap()).unwrap();
    fs::write(&late, b"").unwrap();
    let again = BlobStore::open(&root).unwrap();
    assert_eq!(read_blob(&again, ABC_SHA256), b"abc");
    assert!(late.exists(), "a marked store was searched again");
}

#[test]
fn an_empty_blob_is_stored_under_the_sha256_of_nothing() {
    let (_dir, store) = new_store();
    let blob = store.put_bytes(b"").unwrap();
    assert_eq!(
        blob,
        Blob {
            sha256: EMPTY_SHA256.to_owned(),
            size: 0
        }
    );
    assert_eq!(
        store.verify(EMPTY_SHA256).unwrap(),
        BlobCheck::Ok { size: 0 }
    );
    assert_eq!(stored_files(&store).len(), 1);
}

#[test]
fn same_bytes_are_stored_once_and_leave_no_temp_file() {
    let (_dir, store) = new_store();
    let first = store.put_bytes(b"same bytes").unwrap();
    let first_inode = inode(&store.path(&first).unwrap());
    let second = store.put_bytes(b"same bytes").unwrap();
    assert_eq!(first, second);
    assert_eq!(
        inode(&store.path(&second).unwrap()),
        first_inode,
        "the stored blob was rewritten instead of reused"
    );
    assert_eq!(stored_files(&store).len(), 1);
    assert_eq!(temp_files(&store), Vec::<PathBuf>::new());

    let other = store.put_bytes(b"other bytes").unwrap();
    assert_ne!(other.sha256, first.sha256);
    assert_eq!(stored_files(&store).len(), 2);
}

#[test]
fn a_dropped_writer_leaves_no_temp_file() {
    let (_dir, store) = new_store();
    let mut writer = store.writer().unwrap();
    writer.write_all(b"never committed").unwrap();
    writer.flush().unwrap();
    assert_eq!(temp_files(&store).len(), 1);
    drop(writer);
    assert_eq!(temp_files(&store), Vec::<PathBuf>::new());
    assert_eq!(stored_files(&store), Vec::<PathBuf>::new());
}

#[test]
fn a_blob_is_not_visible_at_its_final_path_before_commit() {
    let (_dir, store) = new_store();
    let chunk = patterned(64 * 1024);
    let chunks = 64; // 4 MiB: several times the write buffer, so bytes reach the temp file
    let mut hasher = Sha256::new();
    let mut writer = store.writer().unwrap();
    for _ in 0..chunks {
        writer.write_all(&chunk).unwrap();
        hasher.update(&chunk);
    }
    let expected = to_hex(&hasher.finalize());

    let final_path = store.path_of(&expected).unwrap();
    assert!(!final_path.exists());
    assert!(!store.contains(&expected));
    assert_eq!(stored_files(&store), Vec::<PathBuf>::new());
    let temp_len: u64 = temp_files(&store)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    assert!(temp_len > 0, "the bytes written so far live in tmp/");

    let blob = writer.commit().unwrap();
    assert_eq!(blob.sha256, expected);
    assert_eq!(
        fs::metadata(&final_path).unwrap().len(),
        (chunks * chunk.len()) as u64
    );
    assert_eq!(temp_files(&store), Vec::<PathBuf>::new());
}

#[test]
fn bytes_written_counts_every_accepted_byte() {
    let (_dir, store) = new_store();
    let mut writer = store.writer().unwrap();
    assert_eq!(writer.bytes_written(), 0);
    writer.write_all(&[7; 1000]).unwrap();
    writer
        .write_all(&patterned(3 * WRITE_BUFFER_BYTES))
        .unwrap();
    assert_eq!(writer.bytes_written(), 1000 + 3 * WRITE_BUFFER_BYTES as u64);
    let blob = writer.commit().unwrap();
    assert_eq!(blob.size, 1000 + 3 * WRITE_BUFFER_BYTES as u64);
}

#[test]
fn remove_temp_files_removes_leftovers_of_interrupted_writes() {
    let (_dir, store) = new_store();
    let kept = store.put_bytes(b"committed before the crash").unwrap();
    for _ in 0..2 {
        let mut writer = store.writer().unwrap();
        writer.write_all(b"half an import").unwrap();
        writer.flush().unwrap();
        // A crash: no destructor runs.
        std::mem::forget(writer);
    }
    let admins_file = store.root().join(TEMP_DIR_NAME).join("notes.txt");
    fs::write(&admins_file, b"not ours").unwrap();

    assert_eq!(store.remove_temp_files().unwrap(), 2);
    assert_eq!(temp_files(&store), vec![admins_file]);
    assert_eq!(
        store.verify(&kept.sha256).unwrap(),
        BlobCheck::Ok { size: kept.size }
    );
    assert_eq!(store.remove_temp_files().unwrap(), 0);
}

#[test]
fn verify_detects_a_flipped_byte() {
    let (_dir, store) = new_store();
    let mut content = patterned(1000);
    let blob = store.put_bytes(&content).unwrap();
    content[500] ^= 0x01;
    fs::write(store.path(&blob).unwrap(), &content).unwrap();

    let check = store.verify(&blob.sha256).unwrap();
    assert_eq!(
        check,
        BlobCheck::Corrupt {
            actual_sha256: sha256_hex(&content)
        }
    );
    assert_ne!(sha256_hex(&content), blob.sha256);
}

#[test]
fn verify_reports_a_missing_blob() {
    let (_dir, store) = new_store();
    assert_eq!(store.verify(ABC_SHA256).unwrap(), BlobCheck::Missing);
    let blob = store.put_bytes(b"abc").unwrap();
    fs::remove_file(store.path(&blob).unwrap()).unwrap();
    assert_eq!(store.verify(ABC_SHA256).unwrap(), BlobCheck::Missing);
    assert!(!store.contains(ABC_SHA256));
}

#[test]
fn open_blob_reports_a_missing_blob_as_not_found() {
    let (_dir, store) = new_store();
    let err = store.open_blob(ABC_SHA256).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains(ABC_SHA256), "{err}");
}

#[test]
fn path_of_accepts_only_64_lowercase_hex_digits() {
    let (_dir, store) = new_store();
    assert!(store.path_of(ABC_SHA256).is_some());
    let rejected = [
        String::new(),
        "abc".to_owned(),
        ABC_SHA256[..63].to_owned(),
        format!("{ABC_SHA256}0"),
        ABC_SHA256.to_uppercase(),
        ABC_SHA256.replacen('b', "g", 1),
        format!("../{}", &ABC_SHA256[3..]),
        format!("ba/78/{}", &ABC_SHA256[6..]),
        format!("/{}", &ABC_SHA256[1..]),
        format!("{}\0", &ABC_SHA256[1..]),
        "é".repeat(32), // 64 bytes, not 64 hex digits
    ];
    for input in &rejected {
        assert_eq!(store.path_of(input), None, "accepted {input:?}");
        assert!(!store.contains(input));
        assert_eq!(
            store.open_blob(input).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            store.verify(input).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}

#[test]
fn the_inventory_lists_blobs_and_foreign_entries_and_deletes_nothing() {
    let (_dir, store) = new_store();
    let referenced = store.put_bytes(b"in a collection").unwrap();
    let orphan_a = store.put_bytes(b"orphan a").unwrap();
    let orphan_b = store.put_bytes(&patterned(4096)).unwrap();
    let leaf_dir = store
        .path(&referenced)
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let foreign = vec![
        store.root().join("README"),
        leaf_dir.join("notes.txt"),
        // A valid hash in the wrong fan-out directory is not where `path_of` looks.
        leaf_dir.join(&orphan_a.sha256),
    ];
    for path in &foreign {
        fs::write(path, b"an admin's file").unwrap();
    }
    let mut in_flight = store.writer().unwrap();
    in_flight
        .write_all(b"in tmp, not the inventory's business")
        .unwrap();
    in_flight.flush().unwrap();

    let mut listed = Vec::new();
    let stats = store
        .inventory(|sha256| listed.push(sha256.to_owned()))
        .unwrap();

    assert_eq!(stats.blobs, 3);
    listed.sort();
    let mut expected_blobs = vec![
        referenced.sha256.clone(),
        orphan_a.sha256.clone(),
        orphan_b.sha256.clone(),
    ];
    expected_blobs.sort();
    assert_eq!(listed, expected_blobs);
    let mut reported = stats.foreign.clone();
    reported.sort();
    let mut expected = foreign.clone();
    expected.sort();
    assert_eq!(reported, expected);
    for path in &foreign {
        assert!(path.exists(), "deleted foreign file {}", path.display());
    }
    for blob in [&referenced, &orphan_a, &orphan_b] {
        assert!(store.contains(&blob.sha256), "the inventory deleted a blob");
    }
    assert_eq!(temp_files(&store).len(), 1);
}

#[test]
fn remove_deletes_one_blob_and_says_how_many_bytes_it_freed() {
    let (_dir, store) = new_store();
    let kept = store.put_bytes(b"kept").unwrap();
    let gone = store.put_bytes(&patterned(4096)).unwrap();
    assert_eq!(store.remove(&gone.sha256).unwrap(), Some(4096));
    assert_eq!(store.remove(&gone.sha256).unwrap(), None, "already gone");
    assert!(store.contains(&kept.sha256));
    assert!(
        store.remove("not-a-hash").is_err(),
        "no path is built from a bad name"
    );
}

#[test]
fn commit_replaces_a_stored_blob_of_the_wrong_size() {
    let (_dir, store) = new_store();
    let content = patterned(10_000);
    let blob = store.put_bytes(&content).unwrap();
    let path = store.path(&blob).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(5_000)
        .unwrap();
    assert!(matches!(
        store.verify(&blob.sha256).unwrap(),
        BlobCheck::Corrupt { .. }
    ));

    assert_eq!(store.put_bytes(&content).unwrap(), blob);
    assert_eq!(
        store.verify(&blob.sha256).unwrap(),
        BlobCheck::Ok { size: 10_000 }
    );
}

#[test]
fn a_failed_commit_leaves_no_temp_file_and_says_what_failed() {
    let (_dir, store) = new_store();
    // A regular file where the fan-out directory `ba/` of sha256("abc") must go.
    fs::remove_dir(store.root().join("ba")).unwrap();
    fs::write(store.root().join("ba"), b"in the way").unwrap();

    let err = store.put_bytes(b"abc").unwrap_err();

    let message = err.to_string();
    assert!(message.contains("creating blob directory"), "{message}");
    assert!(message.contains("ba"), "{message}");
    assert_eq!(temp_files(&store), Vec::<PathBuf>::new());
    assert!(!store.contains(ABC_SHA256));
}

#[test]
fn put_file_streams_a_file_larger_than_its_buffers() {
    let (dir, store) = new_store();
    // Past several read chunks, write buffers and early-writeback ranges, with a ragged tail.
    let len = 2 * WRITEBACK_CHUNK_BYTES as usize + 3 * STREAM_CHUNK_BYTES + 7;
    let content = patterned(len);
    let source = dir.path().join("source.bin");
    fs::write(&source, &content).unwrap();

    let blob = store.put_file(&source).unwrap();

    assert_eq!(blob.sha256, sha256_hex(&content));
    assert_eq!(blob.size, content.len() as u64);
    assert_eq!(read_blob(&store, &blob.sha256), content);
    assert_eq!(temp_files(&store), Vec::<PathBuf>::new());
}

#[test]
fn put_file_of_a_missing_source_names_it() {
    let (dir, store) = new_store();
    let source = dir.path().join("gone.jpg");
    let err = store.put_file(&source).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("gone.jpg"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_chunking_of_writes_gives_the_one_shot_sha256(
        content in proptest::collection::vec(any::<u8>(), 0..300_000),
        chunk_sizes in proptest::collection::vec(1usize..100_000, 1..16),
    ) {
        let (_dir, store) = new_store();
        let mut writer = store.writer().unwrap();
        let mut rest = content.as_slice();
        for &size in chunk_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            writer.write_all(chunk).unwrap();
            rest = tail;
        }
        prop_assert_eq!(writer.bytes_written(), content.len() as u64);
        let blob = writer.commit().unwrap();
        prop_assert_eq!(&blob.sha256, &sha256_hex(&content));
        prop_assert_eq!(blob.size, content.len() as u64);
        prop_assert_eq!(read_blob(&store, &blob.sha256), content);
    }
}
