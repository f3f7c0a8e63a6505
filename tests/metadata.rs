//! File metadata end to end through the real binary: `upload` reads it, `files show --json`
//! gives every key (GPS coordinates to owners and operators only), and a watching engine fills
//! it in for files stored while extraction was off (as files imported before migration V11).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use smartimage::library::metadata::fixtures;

const OPERATOR: &str = "op@example.com";
const HELPER: &str = "helper@example.com";
const ACME: &str = "Acme";

struct Lib {
    _dir: tempfile::TempDir,
    data: PathBuf,
    sources: PathBuf,
    config: PathBuf,
}

impl Lib {
    fn new() -> Lib {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let sources = dir.path().join("sources");
        std::fs::create_dir_all(&sources).unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "").unwrap();
        let lib = Lib {
            _dir: dir,
            data,
            sources,
            config,
        };
        lib.run(
            OPERATOR,
            &[
                "init",
                "--operator",
                OPERATOR,
                "--os-user",
                "nobody-in-tests",
            ],
        );
        lib.run(OPERATOR, &["account", "add", ACME, "--plan", "team"]);
        lib.run(OPERATOR, &["admin", "add", HELPER, "--admin", ACME]);
        lib
    }

    fn cmd(&self, who: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("smartimage").unwrap();
        cmd.env_remove("SMARTIMAGE_ADMIN")
            .env_remove("SMARTIMAGE_DATA_DIR")
            .env_remove("SMARTIMAGE_METADATA")
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .args(["--as", who])
            .args(args);
        cmd
    }

    fn run(&self, who: &str, args: &[&str]) -> String {
        let out = self
            .cmd(who, args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }

    fn source(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.sources.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn upload(&self, paths: &[&Path], extraction_off: bool) {
        let mut args = vec!["upload".to_owned(), "--account".into(), ACME.into()];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = self.cmd(OPERATOR, &args);
        if extraction_off {
            cmd.env("SMARTIMAGE_METADATA", "off");
        }
        cmd.assert().success();
    }

    /// File ids by name.
    fn id_of(&self, name: &str) -> i64 {
        let list: Value =
            serde_json::from_str(&self.run(OPERATOR, &["files", "list", "--json"])).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {list}"))["id"]
            .as_i64()
            .unwrap()
    }

    fn show(&self, who: &str, id: i64) -> Value {
        serde_json::from_str(&self.run(who, &["files", "show", &id.to_string(), "--json"])).unwrap()
    }
}

const KEYS: [&str; 11] = [
    "width",
    "height",
    "orientation",
    "taken_at",
    "camera_make",
    "camera_model",
    "lens",
    "has_gps",
    "duration_secs",
    "video_codec",
    "pages",
];

#[test]
fn upload_reads_metadata_and_files_show_gives_it() {
    let lib = Lib::new();
    let jpeg = lib.source(
        "shot.jpg",
        &fixtures::jpeg_with_exif(&fixtures::camera_exif(true, vec![])),
    );
    let mp4 = lib.source("clip.mp4", &fixtures::mp4_hevc());
    let webm = lib.source("clip.webm", &fixtures::webm_vp9());
    let pdf = lib.source("brochure.pdf", &fixtures::pdf(4));
    let text = lib.source("notes.txt", b"nothing to read here\n");
    lib.upload(&[&jpeg, &mp4, &webm, &pdf, &text], false);

    let shot = lib.show(OPERATOR, lib.id_of("shot.jpg"));
    // Every column of `files list`, plus the metadata with every key.
    assert_eq!(shot["name"], "shot.jpg");
    assert_eq!(shot["account"], ACME);
    let m = &shot["metadata"];
    for key in KEYS {
        assert!(m.get(key).is_some(), "{key} missing from {m}");
    }
    assert_eq!(m["status"], "read");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(30), Some(40))
    );
    assert_eq!(m["orientation"], "portrait");
    assert_eq!(m["taken_at"], "2024-05-12T14:03:22+02:00");
    assert_eq!(m["camera_make"], "Canon");
    assert_eq!(m["camera_model"], "Canon EOS R5");
    assert_eq!(m["lens"], "RF24-105mm F4 L IS USM");
    assert_eq!(m["has_gps"], true);
    assert!(
        (m["gps"]["latitude"].as_f64().unwrap() - 48.8582).abs() < 1e-3,
        "{m}"
    );
    assert_eq!(m["duration_secs"], Value::Null);
    assert_eq!(m["pages"], Value::Null);

    // An admin who is not an owner learns that it has a position, not where.
    let seen = lib.show(HELPER, lib.id_of("shot.jpg"));
    assert_eq!(seen["metadata"]["has_gps"], true);
    assert_eq!(seen["metadata"]["gps"], Value::Null);
    let human = lib.run(
        HELPER,
        &["files", "show", &lib.id_of("shot.jpg").to_string()],
    );
    assert!(human.contains("Canon EOS R5"), "{human}");
    assert!(!human.contains("48.85"), "{human}");

    let clip = &lib.show(OPERATOR, lib.id_of("clip.mp4"))["metadata"];
    assert_eq!(clip["video_codec"], "hevc");
    assert_eq!(clip["duration_secs"], 12.5);
    assert_eq!(
        (clip["width"].as_u64(), clip["height"].as_u64()),
        (Some(1080), Some(1920))
    );
    let web = &lib.show(OPERATOR, lib.id_of("clip.webm"))["metadata"];
    assert_eq!(web["video_codec"], "vp9");
    assert_eq!(web["duration_secs"], 3.5);
    assert_eq!(
        lib.show(OPERATOR, lib.id_of("brochure.pdf"))["metadata"]["pages"],
        4
    );
    let notes = &lib.show(OPERATOR, lib.id_of("notes.txt"))["metadata"];
    assert_eq!(notes["status"], "nothing");
    for key in KEYS {
        assert_eq!(notes[key], Value::Null, "{key} of a text file");
    }
}

#[test]
fn a_damaged_file_is_stored_with_what_could_be_read() {
    let lib = Lib::new();
    let mut bytes = fixtures::mp4_hevc();
    bytes.truncate(bytes.len() - 40);
    let broken = lib.source("broken.mp4", &bytes);
    lib.upload(&[&broken], false);
    let m = &lib.show(OPERATOR, lib.id_of("broken.mp4"))["metadata"];
    assert_eq!(m["status"], "unreadable");
    assert_eq!(m["video_codec"], Value::Null);
}

#[test]
fn a_watching_engine_fills_in_files_stored_without_metadata() {
    let lib = Lib::new();
    let jpeg = lib.source(
        "old.jpg",
        &fixtures::jpeg_with_exif(&fixtures::camera_exif(false, vec![])),
    );
    let pdf = lib.source("old.pdf", &fixtures::pdf(2));
    // As a library from before metadata: stored, never read.
    lib.upload(&[&jpeg, &pdf], true);
    let (shot, doc) = (lib.id_of("old.jpg"), lib.id_of("old.pdf"));
    assert_eq!(lib.show(OPERATOR, shot)["metadata"]["status"], "pending");
    for key in KEYS {
        assert_eq!(lib.show(OPERATOR, shot)["metadata"][key], Value::Null);
    }

    let mut engine = std::process::Command::new(assert_cmd::cargo::cargo_bin("smartimage"))
        .env_remove("SMARTIMAGE_ADMIN")
        .env_remove("SMARTIMAGE_DATA_DIR")
        .env_remove("SMARTIMAGE_METADATA")
        .arg("--data-dir")
        .arg(&lib.data)
        .arg("--config")
        .arg(&lib.config)
        .args(["--as", OPERATOR, "import", "--watch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let filled = loop {
        let done = lib.show(OPERATOR, shot)["metadata"]["status"] == "read"
            && lib.show(OPERATOR, doc)["metadata"]["status"] == "read";
        if done || Instant::now() > deadline {
            break done;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    engine.kill().unwrap();
    engine.wait().unwrap();
    assert!(
        filled,
        "the engine did not fill in the metadata within 30 s"
    );
    assert_eq!(lib.show(OPERATOR, shot)["metadata"]["camera_make"], "Canon");
    assert_eq!(lib.show(OPERATOR, shot)["metadata"]["has_gps"], false);
    assert_eq!(lib.show(OPERATOR, doc)["metadata"]["pages"], 2);
}

/// Writes the seeds of the `metadata_extraction` fuzz target (`fuzz/seeds/`), one small file
/// per format: `cargo test --test metadata -- --ignored write_fuzz_seeds`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    use fixtures::V;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/metadata_extraction");
    std::fs::create_dir_all(&dir).unwrap();
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "jpeg-exif-gps.bin",
            fixtures::jpeg_with_exif(&fixtures::camera_exif(true, vec![])),
        ),
        (
            "tiff-exif.bin",
            fixtures::camera_exif(true, vec![(0x0100, V::Long(64)), (0x0101, V::Long(48))]),
        ),
        ("png.bin", fixtures::encoded(3, 2, image::ImageFormat::Png)),
        (
            "webp.bin",
            fixtures::encoded(3, 2, image::ImageFormat::WebP),
        ),
        ("mp4-hevc.bin", fixtures::mp4_hevc_after(16)),
        ("webm-vp9.bin", fixtures::webm_vp9()),
        ("pdf.bin", fixtures::pdf(2)),
    ];
    for (name, bytes) in seeds {
        assert!(bytes.len() <= 4096, "{name}: {} bytes", bytes.len());
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Issue #22: All Files sorts by capture time and filters by camera and by a range of days,
/// in the CLI as in the console (the same `FileFilter`).
#[test]
fn files_list_sorts_by_capture_time_and_filters_by_camera_and_day() {
    let lib = Lib::new();
    let shot = |name: &str, make, model, taken| {
        lib.source(
            name,
            &fixtures::jpeg_with_exif(&fixtures::shot_exif(make, model, taken, false, vec![])),
        )
    };
    let early = shot(
        "r5-12th.jpg",
        "Canon",
        "Canon EOS R5",
        "2024:05:12 09:00:00",
    );
    let late = shot(
        "r5-13th.jpg",
        "Canon",
        "Canon EOS R5",
        "2024:05:13 18:30:00",
    );
    let fuji = shot("xt5-12th.jpg", "FUJIFILM", "X-T5", "2024:05:12 23:59:59");
    let notes = lib.source("notes.txt", b"no capture time here\n");
    lib.upload(&[&early, &late, &fuji, &notes], false);

    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["files", "list", "--json"];
        all.extend_from_slice(args);
        let list: Value = serde_json::from_str(&lib.run(OPERATOR, &all)).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // Newest capture first; a file that says nothing is placed by its import time (now).
    assert_eq!(
        names(&["--sort", "taken"]),
        ["notes.txt", "r5-13th.jpg", "xt5-12th.jpg", "r5-12th.jpg"]
    );
    let mut canon = names(&["--camera", "canon eos r5"]);
    canon.sort();
    assert_eq!(canon, ["r5-12th.jpg", "r5-13th.jpg"]);
    assert_eq!(names(&["--camera", "FUJIFILM X-T5"]), ["xt5-12th.jpg"]);
    // The 12th is the camera's 12th, to its last second.
    assert_eq!(
        names(&[
            "--taken-from",
            "2024-05-12",
            "--taken-to",
            "2024-05-12",
            "--sort",
            "taken"
        ]),
        ["xt5-12th.jpg", "r5-12th.jpg"]
    );
    assert_eq!(names(&["--taken-from", "2024-05-13"]), ["r5-13th.jpg"]);
    assert_eq!(
        names(&["--taken-to", "2024-05-12", "--camera", "Canon EOS R5"]),
        ["r5-12th.jpg"]
    );

    let listed: Value = serde_json::from_str(&lib.run(
        OPERATOR,
        &["files", "list", "--json", "--camera", "FUJIFILM X-T5"],
    ))
    .unwrap();
    assert_eq!(listed[0]["taken_at"], "2024-05-12T23:59:59");
    assert_eq!(listed[0]["camera"], "FUJIFILM X-T5");
    let table = lib.run(OPERATOR, &["files", "list", "--sort", "taken"]);
    assert!(
        table.contains("TAKEN") && table.contains("2024-05-13 18:30:00"),
        "{table}"
    );

    // A day that is not one is refused with a clear line.
    let refused = lib
        .cmd(OPERATOR, &["files", "list", "--taken-from", "12/05/2024"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("not a day like 2024-05-12"), "{said}");
    let backwards = lib
        .cmd(
            OPERATOR,
            &[
                "files",
                "list",
                "--taken-from",
                "2024-05-13",
                "--taken-to",
                "2024-05-12",
            ],
        )
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&backwards.stderr).contains("is after --taken-to"));
}
