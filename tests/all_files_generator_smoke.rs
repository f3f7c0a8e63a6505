//! The All Files benchmark's library generator, at a small size: it makes a library the
//! console can open, with the mix of sources and kinds the benchmark relies on.

#[path = "../benches/support/synthetic_library.rs"]
mod synthetic_library;

use smartimage::library::Library;
use smartimage::library::model::Source;
use smartimage::library::organise::FileFilter;
use smartimage::library::policy::PlanCatalog;

#[test]
fn generates_a_library_of_the_asked_size_with_both_sources() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bench");
    synthetic_library::generate(&data, 2_000);
    let lib = Library::open(&data, PlanCatalog::default()).unwrap();
    let op = lib.actor(Some(synthetic_library::OPERATOR), None).unwrap();
    let all = lib
        .count_matching(&op, &FileFilter::default(), &[])
        .unwrap();
    assert_eq!(all, 2_000);
    let dropbox = FileFilter {
        source: Some(Source::Dropbox),
        ..FileFilter::default()
    };
    let from_dropbox = lib.count_matching(&op, &dropbox, &[]).unwrap();
    assert!((1_000..1_800).contains(&from_dropbox), "{from_dropbox}");
    let cafe = FileFilter {
        name_contains: Some("CAFÉ".into()),
        ..FileFilter::default()
    };
    assert!(lib.count_matching(&op, &cafe, &[]).unwrap() > 0);
}
