//! One small real file per format, made here, and what extraction reads from it.

use super::*;

use super::fixtures;
use fixtures::V;

#[test]
fn jpeg_exif_gives_camera_lens_time_orientation_and_gps() {
    let got = extract_bytes(&fixtures::jpeg_with_exif(&fixtures::camera_exif(
        true,
        vec![],
    )));
    assert_eq!(got.outcome, Outcome::Read);
    let md = got.metadata;
    // Stored 40x30, orientation 6 (a quarter turn): shown 30x40.
    assert_eq!((md.width, md.height), (Some(30), Some(40)));
    assert_eq!(md.orientation, Some(6));
    assert_eq!(md.shape(), Some("portrait"));
    assert_eq!(md.camera_make.as_deref(), Some("Canon"));
    assert_eq!(md.camera_model.as_deref(), Some("Canon EOS R5"));
    assert_eq!(md.lens.as_deref(), Some("RF24-105mm F4 L IS USM"));
    assert_eq!(md.taken_at.as_deref(), Some("2024-05-12T14:03:22+02:00"));
    assert_eq!(md.has_gps, Some(true));
    let (lat, lon) = md.gps.expect("coordinates");
    assert!((lat - 48.858_222).abs() < 1e-4, "{lat}");
    assert!((lon - 2.294_5).abs() < 1e-4, "{lon}");
    assert_eq!(
        (md.duration_ms, md.video_codec, md.pages),
        (None, None, None)
    );
}

#[test]
fn jpeg_without_gps_says_so() {
    let md = extract_bytes(&fixtures::jpeg_with_exif(&fixtures::camera_exif(
        false,
        vec![],
    )))
    .metadata;
    assert_eq!(md.has_gps, Some(false));
    assert_eq!(md.gps, None);
}

#[test]
fn tiff_and_tiff_based_raw_read_their_own_ifds() {
    // A TIFF (the container of DNG, CR2, NEF, ARW, PEF) 64x48, with the camera's tags.
    let tiff = fixtures::camera_exif(true, vec![(0x0100, V::Long(64)), (0x0101, V::Long(48))]);
    let got = extract_bytes(&tiff);
    assert_eq!(got.outcome, Outcome::Read);
    assert_eq!(got.metadata.camera_model.as_deref(), Some("Canon EOS R5"));
    assert_eq!(
        (got.metadata.width, got.metadata.height),
        (Some(48), Some(64))
    );
    assert_eq!(got.metadata.has_gps, Some(true));
}

#[test]
fn png_and_webp_give_their_size_and_no_gps() {
    for format in [image::ImageFormat::Png, image::ImageFormat::WebP] {
        let md = extract_bytes(&fixtures::encoded(21, 13, format)).metadata;
        assert_eq!((md.width, md.height), (Some(21), Some(13)), "{format:?}");
        assert_eq!(md.shape(), Some("landscape"));
        assert_eq!(md.has_gps, Some(false), "{format:?}");
        assert_eq!(md.camera_make, None);
    }
}

#[test]
fn mp4_with_its_movie_box_at_the_end_gives_codec_size_duration_and_time() {
    let got = extract_bytes(&fixtures::mp4_hevc());
    assert_eq!(got.outcome, Outcome::Read, "{got:?}");
    let md = got.metadata;
    assert_eq!(md.video_codec.as_deref(), Some("hevc"));
    assert_eq!(md.duration_ms, Some(12_500));
    // Coded 1920x1080, turned a quarter: shown upright.
    assert_eq!((md.width, md.height), (Some(1080), Some(1920)));
    assert_eq!(md.taken_at.as_deref(), Some("2023-07-01T00:00:00Z"));
}

#[test]
fn webm_gives_codec_size_and_duration() {
    let got = extract_bytes(&fixtures::webm_vp9());
    assert_eq!(got.outcome, Outcome::Read, "{got:?}");
    let md = got.metadata;
    assert_eq!(md.video_codec.as_deref(), Some("vp9"));
    assert_eq!((md.width, md.height), (Some(640), Some(360)));
    assert_eq!(md.duration_ms, Some(3500));
}

#[test]
fn pdf_gives_its_page_count() {
    let got = extract_bytes(&fixtures::pdf(3));
    assert_eq!(got.outcome, Outcome::Read, "{got:?}");
    assert_eq!(got.metadata.pages, Some(3));
}

#[test]
fn other_files_have_nothing_and_damaged_ones_are_unreadable_not_errors() {
    assert_eq!(extract_bytes(b"just some text\n").outcome, Outcome::Nothing);
    assert_eq!(extract_bytes(b"").outcome, Outcome::Nothing);
    let jpeg = fixtures::jpeg_with_exif(&fixtures::camera_exif(true, vec![]));
    let cut = extract_bytes(&jpeg[..40]);
    assert_ne!(cut.outcome, Outcome::Read, "{cut:?}");
    let mp4 = fixtures::mp4_hevc();
    assert_eq!(
        extract_bytes(&mp4[..mp4.len() - 30]).outcome,
        Outcome::Unreadable
    );
}

#[test]
fn a_movie_box_over_the_limit_is_not_read() {
    // A header claiming a 1 GiB movie box right after the file type: refused, nothing allocated.
    let mut bytes = fixtures::mp4_hevc()[..32].to_vec();
    let ftyp_len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    bytes.truncate(ftyp_len);
    bytes.extend_from_slice(&(1u32 << 30).to_be_bytes());
    bytes.extend_from_slice(b"moov");
    bytes.extend_from_slice(&[0u8; 64]);
    assert_eq!(extract_bytes(&bytes).outcome, Outcome::TooLarge);
}

#[test]
fn files_are_read_within_the_budget_and_a_missing_one_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shot.jpg");
    std::fs::write(
        &path,
        fixtures::jpeg_with_exif(&fixtures::camera_exif(true, vec![])),
    )
    .unwrap();
    let got = extract_file_within(&path, BUDGET);
    assert_eq!(got.metadata.camera_make.as_deref(), Some("Canon"));
    let gone = extract_file_within(&dir.path().join("gone"), BUDGET);
    assert_eq!(gone.outcome, Outcome::Missing);
    // A batch on one worker: in order, a missing blob and a missing path said as such.
    let batch = extract_files_within(
        &[
            Some(path.clone()),
            None,
            Some(dir.path().join("gone")),
            Some(path),
        ],
        BUDGET,
    );
    let outcomes: Vec<Outcome> = batch.iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes[1..3],
        [Outcome::Missing, Outcome::Missing],
        "{outcomes:?}"
    );
    assert_eq!(batch[0].metadata.camera_make.as_deref(), Some("Canon"));
    assert_eq!(batch[3].metadata.camera_make.as_deref(), Some("Canon"));
}

#[test]
fn outcomes_round_trip_their_names() {
    for o in [
        Outcome::Read,
        Outcome::Nothing,
        Outcome::Unreadable,
        Outcome::TooLarge,
        Outcome::TimedOut,
        Outcome::Missing,
    ] {
        assert_eq!(Outcome::parse(o.as_str()), Some(o));
    }
}
