use super::*;
use crate::library::formats::FileKind;
use proptest::prelude::*;
use time::macros::{date, datetime};

const MIB: u64 = 1 << 20;
const NOW: OffsetDateTime = datetime!(2026-03-15 12:00 UTC);

fn video() -> Detection {
    Detection {
        format: "MP4 video".into(),
        mime: "video/mp4".into(),
        verdict: Verdict::Supported(FileKind::Video),
    }
}

fn image() -> Detection {
    Detection {
        format: "JPEG image".into(),
        mime: "image/jpeg".into(),
        verdict: Verdict::Supported(FileKind::Image),
    }
}

fn executable() -> Detection {
    Detection {
        format: "Windows executable".into(),
        mime: "application/x-msdownload".into(),
        verdict: Verdict::Unsupported {
            category: "executable".into(),
        },
    }
}

fn plan(name: &str) -> Plan {
    PlanCatalog::defaults().get(name).unwrap().clone()
}

fn usage(storage_bytes: u64, video_bytes_this_month: u64) -> Usage {
    Usage {
        storage_bytes,
        video_bytes_this_month,
    }
}

fn custom_plan(storage: u64, video: u64, cap: u64) -> Plan {
    Plan {
        name: "custom".into(),
        storage_limit_bytes: storage,
        video_bytes_per_month: video,
        max_video_bytes: cap,
    }
}

fn admit_now(
    plan: &Plan,
    usage: Usage,
    size: u64,
    detection: &Detection,
) -> Result<Admission, AdmitError> {
    admit(plan, usage, "file", size, detection, NOW)
}

// ---- catalogue ----

#[test]
fn defaults_are_the_published_packages_in_binary_units() {
    let catalog = PlanCatalog::defaults();
    let names: Vec<_> = catalog.names().collect();
    assert_eq!(names, ["basic", "multi-brand", "team", "trial"]);
    let gib = 1024 * 1024 * 1024;
    let expected = [
        ("trial", 2 * gib, 2 * gib),
        ("basic", 50 * gib, 0),
        ("team", 200 * gib, 25 * gib),
        ("multi-brand", 400 * gib, 100 * gib),
    ];
    for (name, storage, video) in expected {
        let plan = catalog.get(name).unwrap();
        assert_eq!(plan.name, name);
        assert_eq!(plan.storage_limit_bytes, storage, "{name} storage");
        assert_eq!(plan.video_bytes_per_month, video, "{name} video");
        assert_eq!(plan.max_video_bytes, gib, "{name} per-video cap");
    }
    assert_eq!(TRIAL_STORAGE_BYTES, 2_147_483_648);
    assert_eq!(PlanCatalog::default(), catalog);
}

#[test]
fn plan_lookup_ignores_case_and_spaces() {
    let catalog = PlanCatalog::defaults();
    assert_eq!(catalog.get("Multi-Brand").unwrap().name, "multi-brand");
    assert_eq!(catalog.get(" TEAM ").unwrap().name, "team");
    assert!(catalog.get("enterprise").is_none());
}

#[test]
fn partial_override_changes_only_the_given_keys() {
    let overrides = BTreeMap::from([(
        "team".to_owned(),
        PlanOverride {
            video_bytes_per_month: Some(30 * GIB),
            ..PlanOverride::default()
        },
    )]);
    let catalog = PlanCatalog::with_overrides(&overrides).unwrap();
    let team = catalog.get("team").unwrap();
    assert_eq!(team.video_bytes_per_month, 30 * GIB);
    assert_eq!(team.storage_limit_bytes, TEAM_STORAGE_BYTES);
    assert_eq!(team.max_video_bytes, MAX_VIDEO_BYTES);
    assert_eq!(catalog.get("trial"), PlanCatalog::defaults().get("trial"));
    assert_eq!(catalog.names().count(), 4);
}

#[test]
fn override_names_ignore_case() {
    let overrides = BTreeMap::from([(
        "BASIC".to_owned(),
        PlanOverride {
            storage_limit_bytes: Some(60 * GIB),
            ..PlanOverride::default()
        },
    )]);
    let catalog = PlanCatalog::with_overrides(&overrides).unwrap();
    assert_eq!(catalog.get("basic").unwrap().storage_limit_bytes, 60 * GIB);
    assert_eq!(catalog.names().count(), 4, "no second 'BASIC' plan");
}

#[test]
fn fully_specified_unknown_plan_is_added() {
    let overrides = BTreeMap::from([(
        "Enterprise".to_owned(),
        PlanOverride {
            storage_limit_bytes: Some(1000 * GIB),
            video_bytes_per_month: Some(500 * GIB),
            max_video_bytes: Some(4 * GIB),
        },
    )]);
    let catalog = PlanCatalog::with_overrides(&overrides).unwrap();
    let enterprise = catalog.get("enterprise").unwrap();
    assert_eq!(
        *enterprise,
        Plan {
            name: "enterprise".into(),
            storage_limit_bytes: 1000 * GIB,
            video_bytes_per_month: 500 * GIB,
            max_video_bytes: 4 * GIB,
        }
    );
    assert_eq!(catalog.names().count(), 5);
}

#[test]
fn partially_specified_unknown_plan_is_an_error() {
    let overrides = BTreeMap::from([(
        "agency".to_owned(),
        PlanOverride {
            storage_limit_bytes: Some(GIB),
            ..PlanOverride::default()
        },
    )]);
    let err = PlanCatalog::with_overrides(&overrides).unwrap_err();
    assert_eq!(
        err,
        PolicyError::IncompleteNewPlan {
            plan: "agency".into(),
            missing: vec!["video_bytes_per_month", "max_video_bytes"],
        }
    );
    let message = err.to_string();
    assert!(message.contains("\"agency\""), "{message}");
    assert!(
        message.contains("trial, basic, team, multi-brand"),
        "{message}"
    );
    assert!(
        message.ends_with("missing: video_bytes_per_month, max_video_bytes"),
        "{message}"
    );
}

#[test]
fn same_plan_twice_in_different_case_is_an_error() {
    let overrides = BTreeMap::from([
        ("team".to_owned(), PlanOverride::default()),
        ("Team".to_owned(), PlanOverride::default()),
    ]);
    let err = PlanCatalog::with_overrides(&overrides).unwrap_err();
    assert!(matches!(err, PolicyError::DuplicatePlan { .. }), "{err:?}");
}

#[test]
fn blank_plan_name_is_an_error() {
    let overrides = BTreeMap::from([("  ".to_owned(), PlanOverride::default())]);
    assert_eq!(
        PlanCatalog::with_overrides(&overrides),
        Err(PolicyError::EmptyPlanName)
    );
}

#[test]
fn override_can_open_basic_to_video() {
    let overrides = BTreeMap::from([(
        "basic".to_owned(),
        PlanOverride {
            video_bytes_per_month: Some(GIB),
            ..PlanOverride::default()
        },
    )]);
    let catalog = PlanCatalog::with_overrides(&overrides).unwrap();
    let basic = catalog.get("basic").unwrap();
    assert!(admit_now(basic, Usage::default(), MIB, &video()).is_ok());
}

// ---- admission outcomes ----

#[test]
fn admits_image_against_storage_only() {
    let admission = admit_now(&plan("team"), usage(0, 25 * GIB), 10 * MIB, &image()).unwrap();
    assert_eq!(
        admission,
        Admission {
            storage_bytes: 10 * MIB,
            video_bytes: 0
        }
    );
}

#[test]
fn admits_images_on_basic_plan() {
    assert!(admit_now(&plan("basic"), usage(GIB, 0), 5 * MIB, &image()).is_ok());
}

#[test]
fn admits_video_against_storage_and_allotment() {
    let admission = admit_now(&plan("team"), usage(GIB, GIB), 300 * MIB, &video()).unwrap();
    assert_eq!(
        admission,
        Admission {
            storage_bytes: 300 * MIB,
            video_bytes: 300 * MIB
        }
    );
}

#[test]
fn rejects_unsupported_format() {
    let err = admit_now(&plan("team"), Usage::default(), 1, &executable()).unwrap_err();
    assert_eq!(
        err,
        AdmitError::UnsupportedFormat {
            format: "Windows executable".into(),
            category: "executable".into()
        }
    );
}

#[test]
fn rejects_video_on_basic_plan() {
    let err = admit_now(&plan("basic"), Usage::default(), 1, &video()).unwrap_err();
    assert_eq!(
        err,
        AdmitError::VideoNotAllowedOnPlan {
            plan: "basic".into()
        }
    );
    assert_eq!(err.kind(), ErrorKind::VideoOnBasicPlan);
}

#[test]
fn rejects_video_on_any_plan_without_allotment() {
    let mut no_video = custom_plan(GIB, 0, GIB);
    no_video.name = "archive".into();
    let err = admit_now(&no_video, Usage::default(), 1, &video()).unwrap_err();
    assert_eq!(
        err,
        AdmitError::VideoNotAllowedOnPlan {
            plan: "archive".into()
        }
    );
    assert!(err.to_string().contains("on the archive plan"), "{err}");
}

#[test]
fn rejects_video_over_per_video_cap() {
    let err = admit_now(&plan("multi-brand"), Usage::default(), 2 * GIB, &video()).unwrap_err();
    assert_eq!(
        err,
        AdmitError::VideoTooLarge {
            plan: "multi-brand".into(),
            size: 2 * GIB,
            cap: GIB
        }
    );
}

#[test]
fn rejects_video_over_monthly_allotment() {
    let err = admit_now(
        &plan("team"),
        usage(0, 24 * GIB + 800 * MIB),
        300 * MIB,
        &video(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        AdmitError::VideoAllotmentExceeded {
            plan: "team".into(),
            used: 24 * GIB + 800 * MIB,
            allotment: 25 * GIB,
            needed: 300 * MIB,
            resets_on: date!(2026 - 04 - 01),
        }
    );
}

#[test]
fn rejects_file_over_storage_limit() {
    let err = admit_now(&plan("trial"), usage(2 * GIB - MIB, 0), 2 * MIB, &image()).unwrap_err();
    assert_eq!(
        err,
        AdmitError::StorageLimitExceeded {
            plan: "trial".into(),
            used: 2 * GIB - MIB,
            limit: 2 * GIB,
            needed: 2 * MIB
        }
    );
}

#[test]
fn video_within_allotment_still_needs_storage() {
    let err = admit_now(&plan("trial"), usage(2 * GIB - MIB, 0), 2 * MIB, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageLimit);
}

#[test]
fn exhausted_video_allotment_does_not_block_images() {
    assert!(admit_now(&plan("trial"), usage(0, 2 * GIB), MIB, &image()).is_ok());
    let err = admit_now(&plan("trial"), usage(0, 2 * GIB), 1, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VideoAllotment);
}

// ---- boundaries ----

#[test]
fn accepts_file_exactly_at_storage_limit() {
    let trial = plan("trial");
    assert!(admit_now(&trial, usage(GIB, 0), GIB, &image()).is_ok());
}

#[test]
fn rejects_file_one_byte_over_storage_limit() {
    let err = admit_now(&plan("trial"), usage(GIB, 0), GIB + 1, &image()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageLimit);
    let err = admit_now(&plan("trial"), usage(GIB + 1, 0), GIB, &image()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageLimit);
}

#[test]
fn accepts_video_exactly_at_allotment_and_rejects_one_byte_over() {
    let trial = plan("trial");
    let at_limit = usage(0, 2 * GIB - 512 * MIB);
    assert!(admit_now(&trial, at_limit, 512 * MIB, &video()).is_ok());
    let err = admit_now(&trial, at_limit, 512 * MIB + 1, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VideoAllotment);
}

#[test]
fn accepts_video_exactly_at_cap_and_rejects_one_byte_over() {
    let team = plan("team");
    assert!(admit_now(&team, Usage::default(), GIB, &video()).is_ok());
    let err = admit_now(&team, Usage::default(), GIB + 1, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VideoTooLarge);
}

#[test]
fn empty_file_fits_a_full_account() {
    assert!(admit_now(&plan("trial"), usage(2 * GIB, 2 * GIB), 0, &video()).is_ok());
}

// ---- order of checks ----

#[test]
fn unsupported_huge_file_reports_unsupported_not_storage() {
    let err = admit_now(
        &plan("trial"),
        usage(2 * GIB, 2 * GIB),
        u64::MAX,
        &executable(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedFormat);
}

#[test]
fn huge_video_on_basic_reports_the_ban_not_the_cap() {
    let err = admit_now(&plan("basic"), usage(50 * GIB, 0), 5 * GIB, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VideoOnBasicPlan);
}

#[test]
fn oversized_video_reports_the_cap_before_the_allotment() {
    let err = admit_now(&plan("trial"), usage(2 * GIB, 2 * GIB), GIB + 1, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VideoTooLarge);
}

#[test]
fn video_over_allotment_and_storage_reports_the_allotment() {
    let err = admit_now(&plan("trial"), usage(2 * GIB, 2 * GIB), MIB, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VideoAllotment);
}

// ---- overflow ----

#[test]
fn storage_usage_near_u64_max_does_not_wrap() {
    let err = admit_now(&plan("team"), usage(u64::MAX - 1, 0), 2, &image()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageLimit);
    let unlimited = custom_plan(u64::MAX, u64::MAX, u64::MAX);
    assert!(admit_now(&unlimited, usage(u64::MAX - 1, 0), 1, &image()).is_ok());
    let err = admit_now(&unlimited, usage(u64::MAX - 1, 0), 2, &image()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageLimit);
}

#[test]
fn video_usage_near_u64_max_does_not_wrap() {
    let unlimited = custom_plan(u64::MAX, u64::MAX, u64::MAX);
    let err = admit_now(&unlimited, usage(0, u64::MAX), 1, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VideoAllotment);
    assert!(!err.to_string().is_empty());
}

// ---- video month ----

#[test]
fn video_month_rolls_over_at_midnight_utc_on_the_first() {
    let last_second = datetime!(2026-01-31 23:59:59 UTC);
    assert_eq!(
        video_month_bounds(last_second),
        (
            datetime!(2026-01-01 00:00 UTC),
            datetime!(2026-02-01 00:00 UTC)
        )
    );
    let first_second = datetime!(2026-02-01 00:00:00 UTC);
    assert_eq!(
        video_month_bounds(first_second),
        (
            datetime!(2026-02-01 00:00 UTC),
            datetime!(2026-03-01 00:00 UTC)
        )
    );
    assert_eq!(next_reset(last_second), date!(2026 - 02 - 01));
    assert_eq!(next_reset(first_second), date!(2026 - 03 - 01));
}

#[test]
fn december_rolls_into_january_of_the_next_year() {
    let now = datetime!(2026-12-31 23:59:59.999 UTC);
    assert_eq!(
        video_month_bounds(now),
        (
            datetime!(2026-12-01 00:00 UTC),
            datetime!(2027-01-01 00:00 UTC)
        )
    );
    assert_eq!(next_reset(now), date!(2027 - 01 - 01));
}

#[test]
fn video_month_follows_utc_not_the_local_offset() {
    // 23:30 at -02:00 is 01:30 UTC on April 1st.
    let late_local = datetime!(2026-03-31 23:30 -02:00);
    assert_eq!(
        video_month_bounds(late_local),
        (
            datetime!(2026-04-01 00:00 UTC),
            datetime!(2026-05-01 00:00 UTC)
        )
    );
    // 00:30 at +02:00 is still March 31st in UTC.
    let early_local = datetime!(2026-04-01 00:30 +02:00);
    assert_eq!(next_reset(early_local), date!(2026 - 04 - 01));
    let (start, end) = video_month_bounds(early_local);
    assert_eq!(start.offset(), UtcOffset::UTC);
    assert_eq!(end.offset(), UtcOffset::UTC);
}

#[test]
fn february_of_a_leap_year_ends_on_march_first() {
    let (start, end) = video_month_bounds(datetime!(2028-02-29 12:00 UTC));
    assert_eq!(start, datetime!(2028-02-01 00:00 UTC));
    assert_eq!(end, datetime!(2028-03-01 00:00 UTC));
}

#[test]
fn video_month_at_the_end_of_the_calendar_does_not_panic() {
    let (start, end) = video_month_bounds(datetime!(9999-12-15 00:00 UTC));
    assert_eq!(start, datetime!(9999-12-01 00:00 UTC));
    assert_eq!(end, PrimitiveDateTime::MAX.assume_utc());
    let beyond_utc = datetime!(9999-12-31 23:30 -02:00);
    assert_eq!(
        video_month_bounds(beyond_utc).1,
        PrimitiveDateTime::MAX.assume_utc()
    );
}

#[test]
fn allotment_error_names_the_reset_date_of_now() {
    let err = admit(
        &plan("trial"),
        usage(0, 2 * GIB),
        "clip.mp4",
        1,
        &video(),
        datetime!(2026-12-31 23:30 -01:00),
    )
    .unwrap_err();
    let AdmitError::VideoAllotmentExceeded { resets_on, .. } = err else {
        panic!("expected an allotment error, got {err:?}");
    };
    assert_eq!(resets_on, date!(2027 - 02 - 01));
}

// ---- kinds and messages ----

#[test]
fn error_kind_ids_are_stable_and_round_trip() {
    let ids: Vec<_> = ErrorKind::ALL.iter().map(|kind| kind.as_str()).collect();
    assert_eq!(
        ids,
        [
            "storage_limit",
            "video_allotment",
            "video_on_basic_plan",
            "video_too_large",
            "unsupported_format",
            "invalid_name",
            "unknown",
            "server_error"
        ]
    );
    for kind in ErrorKind::ALL {
        assert_eq!(ErrorKind::parse(kind.as_str()), Some(kind));
        assert_eq!(
            serde_json::to_string(&kind).unwrap(),
            format!("\"{}\"", kind.as_str())
        );
    }
    assert_eq!(
        ErrorKind::parse("Storage_Limit"),
        Some(ErrorKind::StorageLimit)
    );
    assert_eq!(ErrorKind::parse("storage limit"), None);
    assert_eq!(ErrorKind::parse(""), None);
}

#[test]
fn error_titles_match_the_help_article() {
    // Worded exactly as in the help article users read (shared/seed), plus the size cap.
    let titles: Vec<_> = ErrorKind::ALL.iter().map(|kind| kind.title()).collect();
    assert_eq!(
        titles,
        [
            "Exceeding storage limit for your plan",
            "Exceeding the monthly video allotment for your plan",
            "Trying to upload videos when in the Basic plan",
            "Video larger than the per-video size limit",
            "Unsupported file format",
            "File name that is not valid text",
            "Unknown errors",
            "Server errors (on Smartimage's side)",
        ]
    );
}

#[test]
fn every_kind_has_its_own_advice_sentence() {
    let advice: BTreeSet<_> = ErrorKind::ALL.iter().map(|kind| kind.advice()).collect();
    assert_eq!(advice.len(), ErrorKind::ALL.len());
    for text in advice {
        assert!(text.ends_with('.') && text.len() > 40, "{text}");
    }
    assert!(ErrorKind::VideoAllotment.advice().contains("1st"));
    assert!(ErrorKind::UnsupportedFormat.advice().contains("MP4"));
}

#[test]
fn storage_message_shows_human_numbers_and_advice() {
    let err = admit_now(
        &plan("trial"),
        usage(GIB + 512 * MIB, 0),
        700 * MIB,
        &image(),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "Not enough storage left on the trial plan: 1.5 GiB used of 2.0 GiB, this file needs 700.0 MiB. "
        ),
        "{message}"
    );
    assert!(
        message.ends_with(ErrorKind::StorageLimit.advice()),
        "{message}"
    );
}

#[test]
fn allotment_message_shows_numbers_reset_date_and_advice() {
    let err = admit_now(
        &plan("team"),
        usage(0, 24 * GIB + 768 * MIB),
        300 * MIB,
        &video(),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("24.8 GiB used of 25.0 GiB, this video needs 300.0 MiB"),
        "{message}"
    );
    assert!(message.contains("resets on 2026-04-01 (UTC)"), "{message}");
    assert!(
        message.ends_with(ErrorKind::VideoAllotment.advice()),
        "{message}"
    );
}

#[test]
fn video_ban_message_names_the_plan_and_advice() {
    let err = admit_now(&plan("basic"), Usage::default(), MIB, &video()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Videos cannot be uploaded on the basic plan, which has no video allotment. {}",
            ErrorKind::VideoOnBasicPlan.advice()
        )
    );
}

#[test]
fn too_large_message_shows_size_cap_and_advice() {
    let err = admit_now(&plan("team"), Usage::default(), GIB + 512 * MIB, &video()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "This video is 1.5 GiB, larger than the 1.0 GiB per-video limit of the team plan. "
        ),
        "{message}"
    );
    assert!(
        message.ends_with(ErrorKind::VideoTooLarge.advice()),
        "{message}"
    );
}

#[test]
fn rounding_that_hides_the_overshoot_adds_exact_bytes() {
    let err = admit_now(&plan("team"), Usage::default(), GIB + 1, &video()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("1.0 GiB per-video limit of the team plan (1073741825 bytes, 1073741824 bytes available)."),
        "{message}"
    );
    let err = admit_now(&plan("trial"), usage(GIB, 0), GIB + 1, &image()).unwrap_err();
    assert!(
        err.to_string()
            .contains("(1073741825 bytes, 1073741824 bytes available)"),
        "{err}"
    );
    let roomy = custom_plan(u64::MAX, 2 * GIB, u64::MAX);
    let err = admit_now(&roomy, usage(0, GIB), GIB + 1, &video()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VideoAllotment);
    assert!(
        err.to_string()
            .contains("(1073741825 bytes, 1073741824 bytes available)"),
        "{err}"
    );
    let clear = admit_now(&plan("trial"), usage(GIB, 0), 2 * GIB, &image()).unwrap_err();
    assert!(!clear.to_string().contains("bytes available"), "{clear}");
}

#[test]
fn unsupported_message_names_the_format_and_advice() {
    let err = admit_now(&plan("team"), Usage::default(), 1, &executable()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Smartimage does not accept a Windows executable (executable). {}",
            ErrorKind::UnsupportedFormat.advice()
        )
    );
}

#[test]
fn unsupported_message_reads_naturally_for_every_refusal() {
    let message = |bytes: &[u8], name: &str| {
        let detection = crate::library::formats::detect_bytes(bytes, name);
        let err = admit_now(&plan("team"), Usage::default(), 1, &detection).unwrap_err();
        err.to_string()
    };
    let empty = message(b"", "photo.jpg");
    assert!(
        empty.starts_with("Smartimage does not accept empty files. "),
        "{empty}"
    );
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let binary = message(&noise, "photo.jpg");
    assert!(
        binary.starts_with("Smartimage does not accept unknown binary data (unknown binary)."),
        "{binary}"
    );
    let key = message(b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n", "id.txt");
    assert!(
        key.starts_with(
            "Smartimage does not accept an SSH private key (private key or credentials)."
        ),
        "{key}"
    );
}

#[test]
fn unknown_message_carries_the_detail() {
    let err = AdmitError::Unknown {
        detail: "path/not_found/..".into(),
    };
    assert_eq!(err.kind(), ErrorKind::Unknown);
    assert_eq!(
        err.to_string(),
        format!(
            "The file could not be imported: path/not_found/. {}",
            ErrorKind::Unknown.advice()
        )
    );
    let blank = AdmitError::Unknown { detail: " ".into() };
    assert!(
        blank
            .to_string()
            .starts_with("The file could not be imported for an unknown reason. ")
    );
}

#[test]
fn every_error_maps_to_its_kind() {
    let cases = [
        (
            admit_now(&plan("trial"), usage(2 * GIB, 0), 1, &image()),
            ErrorKind::StorageLimit,
        ),
        (
            admit_now(&plan("trial"), usage(0, 2 * GIB), 1, &video()),
            ErrorKind::VideoAllotment,
        ),
        (
            admit_now(&plan("basic"), Usage::default(), 1, &video()),
            ErrorKind::VideoOnBasicPlan,
        ),
        (
            admit_now(&plan("team"), Usage::default(), 2 * GIB, &video()),
            ErrorKind::VideoTooLarge,
        ),
        (
            admit_now(&plan("team"), Usage::default(), 1, &executable()),
            ErrorKind::UnsupportedFormat,
        ),
    ];
    for (result, kind) in cases {
        assert_eq!(result.unwrap_err().kind(), kind);
    }
}

#[test]
fn errors_serialize_as_kind_and_message() {
    let err = admit_now(&plan("basic"), Usage::default(), 1, &video()).unwrap_err();
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "video_on_basic_plan", "message": err.to_string()})
    );
}

// ---- warnings ----

#[test]
fn warning_threshold_is_three_quarters() {
    assert_eq!(WARNING_FRACTION, 0.75);
}

#[test]
fn no_warning_just_below_three_quarters() {
    let team = plan("team");
    let storage_at = TEAM_STORAGE_BYTES / 4 * 3;
    let video_at = TEAM_VIDEO_BYTES_PER_MONTH / 4 * 3;
    assert!(usage_warnings(&team, usage(storage_at - 1, video_at - 1)).is_empty());
}

#[test]
fn warns_at_exactly_three_quarters_for_storage_and_video() {
    let team = plan("team");
    let warnings = usage_warnings(&team, usage(150 * GIB, 25 * GIB / 4 * 3));
    assert_eq!(
        warnings,
        [
            UsageWarning::Storage {
                plan: "team".into(),
                used: 150 * GIB,
                limit: 200 * GIB
            },
            UsageWarning::VideoAllotment {
                plan: "team".into(),
                used: 25 * GIB / 4 * 3,
                allotment: 25 * GIB
            },
        ]
    );
    assert!(warnings.iter().all(|warning| warning.percent_used() == 75));
}

#[test]
fn warns_about_storage_alone() {
    let warnings = usage_warnings(&plan("team"), usage(190 * GIB, 0));
    assert_eq!(warnings.len(), 1);
    assert!(matches!(warnings[0], UsageWarning::Storage { .. }));
    assert_eq!(warnings[0].percent_used(), 95);
}

#[test]
fn plan_without_video_never_warns_about_video() {
    assert!(usage_warnings(&plan("basic"), usage(0, u64::MAX)).is_empty());
}

#[test]
fn warnings_handle_usage_past_the_limit_and_near_u64_max() {
    let tiny = custom_plan(1, 1, 1);
    let warnings = usage_warnings(&tiny, usage(u64::MAX, u64::MAX));
    assert_eq!(warnings.len(), 2);
    assert!(
        warnings
            .iter()
            .all(|warning| warning.percent_used() == u64::MAX)
    );
}

#[test]
fn zero_limit_counts_as_fully_used() {
    let warning = UsageWarning::Storage {
        plan: "custom".into(),
        used: 0,
        limit: 0,
    };
    assert_eq!(warning.percent_used(), 100);
    assert!(usage_warnings(&custom_plan(0, 0, 0), usage(0, 0)).is_empty());
}

#[test]
fn warning_sentences_show_percent_and_numbers() {
    let warnings = usage_warnings(&plan("trial"), usage(GIB + 768 * MIB, GIB + 512 * MIB));
    let texts: Vec<_> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(texts.len(), 2);
    assert!(
        texts[0]
            .starts_with("Storage is at 87 % of the trial plan's limit: 1.8 GiB used of 2.0 GiB. "),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].starts_with(
            "This month's video allotment is at 75 % on the trial plan: 1.5 GiB used of 2.0 GiB. "
        ),
        "{}",
        texts[1]
    );
}

// ---- model check ----

fn interesting_bytes() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(u64::MAX),
        0..=4 * GIB,
        (0u64..=500).prop_map(|n| n * GIB),
        any::<u64>(),
    ]
}

fn any_plan() -> impl Strategy<Value = Plan> {
    let built_in: Vec<Plan> = PlanCatalog::defaults().plans.into_values().collect();
    prop_oneof![
        prop::sample::select(built_in),
        (
            interesting_bytes(),
            interesting_bytes(),
            interesting_bytes()
        )
            .prop_map(|(storage, video, cap)| custom_plan(storage, video, cap)),
    ]
}

fn any_detection() -> impl Strategy<Value = Detection> {
    prop_oneof![Just(video()), Just(image()), Just(executable())]
}

/// Sizes right around each limit, where off-by-one mistakes live.
fn size_for(mode: u8, raw: u64, delta: i64, plan: &Plan, usage: Usage) -> u64 {
    let pivot = match mode {
        0 => return raw,
        1 => plan.storage_limit_bytes.saturating_sub(usage.storage_bytes),
        2 => plan
            .video_bytes_per_month
            .saturating_sub(usage.video_bytes_this_month),
        _ => plan.max_video_bytes,
    };
    pivot.saturating_add_signed(delta)
}

/// The rules restated in u128, where nothing can overflow.
fn model(
    plan: &Plan,
    usage: Usage,
    size: u64,
    detection: &Detection,
) -> Result<Admission, ErrorKind> {
    let fits = |used: u64, limit: u64| u128::from(used) + u128::from(size) <= u128::from(limit);
    let is_video = match detection.verdict {
        Verdict::Unsupported { .. } => return Err(ErrorKind::UnsupportedFormat),
        Verdict::Supported(kind) => kind == FileKind::Video,
    };
    if is_video {
        if plan.video_bytes_per_month == 0 {
            return Err(ErrorKind::VideoOnBasicPlan);
        }
        if size > plan.max_video_bytes {
            return Err(ErrorKind::VideoTooLarge);
        }
        if !fits(usage.video_bytes_this_month, plan.video_bytes_per_month) {
            return Err(ErrorKind::VideoAllotment);
        }
    }
    if !fits(usage.storage_bytes, plan.storage_limit_bytes) {
        return Err(ErrorKind::StorageLimit);
    }
    Ok(Admission {
        storage_bytes: size,
        video_bytes: if is_video { size } else { 0 },
    })
}

proptest! {
    #[test]
    fn admit_accepts_exactly_what_fits(
        plan in any_plan(),
        storage_used in interesting_bytes(),
        video_used in interesting_bytes(),
        detection in any_detection(),
        mode in 0u8..4,
        raw in interesting_bytes(),
        delta in -2i64..=2,
    ) {
        let usage = usage(storage_used, video_used);
        let size = size_for(mode, raw, delta, &plan, usage);
        let verdict = admit_now(&plan, usage, size, &detection);

        let supported = detection.kind().is_some();
        let is_video = detection.is_video();
        let storage_fits = u128::from(storage_used) + u128::from(size) <= u128::from(plan.storage_limit_bytes);
        let video_fits = !is_video
            || (plan.video_bytes_per_month > 0
                && size <= plan.max_video_bytes
                && u128::from(video_used) + u128::from(size) <= u128::from(plan.video_bytes_per_month));
        prop_assert_eq!(verdict.is_ok(), supported && storage_fits && video_fits);

        prop_assert_eq!(
            verdict.as_ref().map_err(AdmitError::kind).copied(),
            model(&plan, usage, size, &detection)
        );
        if let Err(err) = &verdict {
            prop_assert!(err.to_string().ends_with(err.kind().advice()));
        }
    }
}
