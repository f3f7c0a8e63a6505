//! Plan rules: storage limit, monthly video allotment, the Basic-plan video ban, the per-video
//! size cap and supported formats — one admission function with a typed verdict. The store calls
//! [`admit`] inside its quota transaction, so what is checked is exactly what gets reserved.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytesize::ByteSize;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::library::formats::{CATEGORY_EMPTY, Detection, Verdict, format_in_sentence};

/// One "GB" of Smartimage's published packages, taken as a gibibyte (2^30 bytes), not 10^9.
/// Storage dashboards and our own messages show binary units, so a "2 GB" plan must read as
/// exactly "2.0 GiB" rather than "1.9 GiB".
pub const GIB: u64 = 1 << 30;

pub const TRIAL_PLAN: &str = "trial";
pub const BASIC_PLAN: &str = "basic";
pub const TEAM_PLAN: &str = "team";
pub const MULTI_BRAND_PLAN: &str = "multi-brand";

pub const TRIAL_STORAGE_BYTES: u64 = 2 * GIB;
pub const TRIAL_VIDEO_BYTES_PER_MONTH: u64 = 2 * GIB;
pub const BASIC_STORAGE_BYTES: u64 = 50 * GIB;
/// A zero monthly allotment is how a plan says "no videos at all".
pub const NO_VIDEO_ALLOTMENT: u64 = 0;
pub const TEAM_STORAGE_BYTES: u64 = 200 * GIB;
pub const TEAM_VIDEO_BYTES_PER_MONTH: u64 = 25 * GIB;
pub const MULTI_BRAND_STORAGE_BYTES: u64 = 400 * GIB;
pub const MULTI_BRAND_VIDEO_BYTES_PER_MONTH: u64 = 100 * GIB;
/// Every published plan caps a single video at this size.
pub const MAX_VIDEO_BYTES: u64 = GIB;

/// Owners are warned once usage reaches this share of a limit. Kept as a whole percentage so
/// the check is exact integer arithmetic; [`WARNING_FRACTION`] is the same threshold.
pub const WARNING_PERCENT: u64 = 75;
pub const WARNING_FRACTION: f64 = WARNING_PERCENT as f64 / 100.0;

/// The published packages: (name, storage limit, monthly video allotment).
const BUILT_IN_PLANS: [(&str, u64, u64); 4] = [
    (TRIAL_PLAN, TRIAL_STORAGE_BYTES, TRIAL_VIDEO_BYTES_PER_MONTH),
    (BASIC_PLAN, BASIC_STORAGE_BYTES, NO_VIDEO_ALLOTMENT),
    (TEAM_PLAN, TEAM_STORAGE_BYTES, TEAM_VIDEO_BYTES_PER_MONTH),
    (
        MULTI_BRAND_PLAN,
        MULTI_BRAND_STORAGE_BYTES,
        MULTI_BRAND_VIDEO_BYTES_PER_MONTH,
    ),
];

/// One plan's limits. `video_bytes_per_month == 0` means videos are not allowed at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub storage_limit_bytes: u64,
    pub video_bytes_per_month: u64,
    pub max_video_bytes: u64,
}

impl Plan {
    pub fn allows_video(&self) -> bool {
        self.video_bytes_per_month > NO_VIDEO_ALLOTMENT
    }
}

/// Partial plan settings from the config file; missing keys keep the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanOverride {
    pub storage_limit_bytes: Option<u64>,
    pub video_bytes_per_month: Option<u64>,
    pub max_video_bytes: Option<u64>,
}

impl PlanOverride {
    fn apply_to(&self, plan: &mut Plan) {
        if let Some(bytes) = self.storage_limit_bytes {
            plan.storage_limit_bytes = bytes;
        }
        if let Some(bytes) = self.video_bytes_per_month {
            plan.video_bytes_per_month = bytes;
        }
        if let Some(bytes) = self.max_video_bytes {
            plan.max_video_bytes = bytes;
        }
    }

    /// Config keys a brand-new plan would still need (names as written in the config file).
    fn missing_keys(&self) -> Vec<&'static str> {
        [
            ("storage_limit_bytes", self.storage_limit_bytes.is_none()),
            (
                "video_bytes_per_month",
                self.video_bytes_per_month.is_none(),
            ),
            ("max_video_bytes", self.max_video_bytes.is_none()),
        ]
        .into_iter()
        .filter_map(|(key, missing)| missing.then_some(key))
        .collect()
    }
}

/// A plan configuration that cannot be used; the message says which entry and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "plan \"{plan}\" is not one of the built-in plans ({built_in}), so its settings must \
         give storage_limit_bytes, video_bytes_per_month and max_video_bytes; missing: {missing}",
        built_in = built_in_plan_names(),
        missing = .missing.join(", ")
    )]
    IncompleteNewPlan {
        plan: String,
        missing: Vec<&'static str>,
    },
    #[error(
        "plan \"{plan}\" is configured more than once (plan names ignore case); keep one entry"
    )]
    DuplicatePlan { plan: String },
    #[error("a plan in the configuration has an empty name; give every plan a name")]
    EmptyPlanName,
}

fn built_in_plan_names() -> String {
    BUILT_IN_PLANS.map(|(name, _, _)| name).join(", ")
}

/// Plans are looked up the way account rows store them: trimmed, ASCII case ignored.
fn plan_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanCatalog {
    plans: BTreeMap<String, Plan>,
}

impl Default for PlanCatalog {
    fn default() -> Self {
        Self::defaults()
    }
}

impl PlanCatalog {
    /// Smartimage's published packages (see [`GIB`] for what "GB" means here).
    pub fn defaults() -> Self {
        let plans = BUILT_IN_PLANS
            .iter()
            .map(|&(name, storage_limit_bytes, video_bytes_per_month)| {
                let plan = Plan {
                    name: name.to_owned(),
                    storage_limit_bytes,
                    video_bytes_per_month,
                    max_video_bytes: MAX_VIDEO_BYTES,
                };
                (name.to_owned(), plan)
            })
            .collect();
        Self { plans }
    }

    /// The defaults with config overrides applied. Names ignore case and surrounding spaces; an
    /// unknown name adds a new plan (stored under its lower-case name), which must then give all
    /// three limits — a half-specified plan is far more likely a typo than an intent.
    pub fn with_overrides(overrides: &BTreeMap<String, PlanOverride>) -> Result<Self, PolicyError> {
        let mut catalog = Self::defaults();
        let mut seen = BTreeSet::new();
        for (name, settings) in overrides {
            let key = plan_key(name);
            if key.is_empty() {
                return Err(PolicyError::EmptyPlanName);
            }
            if !seen.insert(key.clone()) {
                return Err(PolicyError::DuplicatePlan { plan: name.clone() });
            }
            if let Some(plan) = catalog.plans.get_mut(&key) {
                settings.apply_to(plan);
                continue;
            }
            let missing = settings.missing_keys();
            if !missing.is_empty() {
                return Err(PolicyError::IncompleteNewPlan {
                    plan: name.clone(),
                    missing,
                });
            }
            let mut plan = Plan {
                name: key.clone(),
                storage_limit_bytes: 0,
                video_bytes_per_month: 0,
                max_video_bytes: 0,
            };
            settings.apply_to(&mut plan);
            catalog.plans.insert(key, plan);
        }
        Ok(catalog)
    }

    pub fn get(&self, name: &str) -> Option<&Plan> {
        self.plans.get(&plan_key(name))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plans.keys().map(String::as_str)
    }
}

/// What an account already uses, reservations included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub storage_bytes: u64,
    pub video_bytes_this_month: u64,
}

/// What admission grants: the bytes to reserve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    pub storage_bytes: u64,
    pub video_bytes: u64,
}

/// The error families of the help article. `as_str` ids are stored in the DB and printed by
/// `--json`, so they must never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    StorageLimit,
    VideoAllotment,
    VideoOnBasicPlan,
    VideoTooLarge,
    UnsupportedFormat,
    /// A name in a synced folder that is not valid UTF-8: nothing in Dropbox or the library
    /// can hold it, so the file waits in the folder until it is renamed.
    InvalidName,
    Unknown,
    /// A fault of our own server (disk full, permissions, a read-only blob store): shown to
    /// admins, never written into the customer's report; the file is retried automatically.
    ServerError,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::StorageLimit,
        ErrorKind::VideoAllotment,
        ErrorKind::VideoOnBasicPlan,
        ErrorKind::VideoTooLarge,
        ErrorKind::UnsupportedFormat,
        ErrorKind::InvalidName,
        ErrorKind::Unknown,
        ErrorKind::ServerError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::StorageLimit => "storage_limit",
            ErrorKind::VideoAllotment => "video_allotment",
            ErrorKind::VideoOnBasicPlan => "video_on_basic_plan",
            ErrorKind::VideoTooLarge => "video_too_large",
            ErrorKind::UnsupportedFormat => "unsupported_format",
            ErrorKind::InvalidName => "invalid_name",
            ErrorKind::Unknown => "unknown",
            ErrorKind::ServerError => "server_error",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// A few words for a table column ("video too large"); [`ErrorKind::title`] in full.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::StorageLimit => "storage full",
            ErrorKind::VideoAllotment => "video allotment used",
            ErrorKind::VideoOnBasicPlan => "video on Basic plan",
            ErrorKind::VideoTooLarge => "video too large",
            ErrorKind::UnsupportedFormat => "unsupported format",
            ErrorKind::InvalidName => "invalid name",
            ErrorKind::Unknown => "unknown error",
            ErrorKind::ServerError => "server error",
        }
    }

    /// The label of a kind stored as text ([`ErrorKind::as_str`]); unknown text as it is.
    pub fn label_of(stored: &str) -> &str {
        match ErrorKind::parse(stored) {
            Some(kind) => kind.label(),
            None => stored,
        }
    }

    /// The heading users know from the help article.
    pub fn title(self) -> &'static str {
        match self {
            ErrorKind::StorageLimit => "Exceeding storage limit for your plan",
            ErrorKind::VideoAllotment => "Exceeding the monthly video allotment for your plan",
            ErrorKind::VideoOnBasicPlan => "Trying to upload videos when in the Basic plan",
            ErrorKind::VideoTooLarge => "Video larger than the per-video size limit",
            ErrorKind::UnsupportedFormat => "Unsupported file format",
            ErrorKind::InvalidName => "File name that is not valid text",
            ErrorKind::Unknown => "Unknown errors",
            ErrorKind::ServerError => "Server errors (on Smartimage's side)",
        }
    }

    /// What the admin can do about it; the file stays in Dropbox, so each ends in a retry.
    pub fn advice(self) -> &'static str {
        match self {
            ErrorKind::StorageLimit => {
                "Free up space by deleting files from All Files, or upgrade the account to a plan \
                 with more storage, then retry the file."
            }
            ErrorKind::VideoAllotment => {
                "Wait for the allotment to reset on the 1st of next month (UTC), or upgrade the \
                 account to a plan with a larger video allotment, then retry the file."
            }
            ErrorKind::VideoOnBasicPlan => {
                "Upgrade the account from Basic to a plan that includes video, such as Team or \
                 Multi-brand, then retry the file."
            }
            ErrorKind::VideoTooLarge => {
                "Compress or trim the video (or split it into parts) so each part is below the \
                 per-video limit, then drop it into the folder again."
            }
            ErrorKind::UnsupportedFormat => {
                "Convert the file to a supported format, such as JPEG, PNG, MP4, MP3 or PDF, then \
                 drop it into the folder again."
            }
            ErrorKind::InvalidName => {
                "Rename the file (or the folder it is in, if that name shows \\xNN codes) using \
                 ordinary letters, digits and punctuation; the renamed file is uploaded by itself."
            }
            ErrorKind::Unknown => {
                "Retry the file later; if it keeps failing, contact Smartimage support and include \
                 this message."
            }
            ErrorKind::ServerError => {
                "Nothing for the customer to do: the file waits in Dropbox and is imported \
                 automatically once the server is fixed (admins: check the data disk's free space \
                 and permissions)."
            }
        }
    }
}

/// Why one file was refused, with the numbers that decided it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    StorageLimitExceeded {
        plan: String,
        used: u64,
        limit: u64,
        needed: u64,
    },
    VideoAllotmentExceeded {
        plan: String,
        used: u64,
        allotment: u64,
        needed: u64,
        resets_on: Date,
    },
    VideoNotAllowedOnPlan {
        plan: String,
    },
    VideoTooLarge {
        plan: String,
        size: u64,
        cap: u64,
    },
    UnsupportedFormat {
        format: String,
        category: String,
    },
    Unknown {
        detail: String,
    },
}

impl AdmitError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdmitError::StorageLimitExceeded { .. } => ErrorKind::StorageLimit,
            AdmitError::VideoAllotmentExceeded { .. } => ErrorKind::VideoAllotment,
            AdmitError::VideoNotAllowedOnPlan { .. } => ErrorKind::VideoOnBasicPlan,
            AdmitError::VideoTooLarge { .. } => ErrorKind::VideoTooLarge,
            AdmitError::UnsupportedFormat { .. } => ErrorKind::UnsupportedFormat,
            AdmitError::Unknown { .. } => ErrorKind::Unknown,
        }
    }
}

fn human(bytes: u64) -> ByteSize {
    ByteSize::b(bytes)
}

/// Right at a limit, rounded sizes can print alike ("needs 1.0 GiB" when 1.0 GiB is left); then
/// the exact byte counts are added so the message still shows why the file failed.
fn exact_when_rounding_hides(needed: u64, available: u64) -> String {
    if needed != available && human(needed).to_string() == human(available).to_string() {
        format!(" ({needed} bytes, {available} bytes available)")
    } else {
        String::new()
    }
}

impl fmt::Display for AdmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdmitError::StorageLimitExceeded {
                plan,
                used,
                limit,
                needed,
            } => write!(
                f,
                "Not enough storage left on the {plan} plan: {} used of {}, this file needs {}{}.",
                human(*used),
                human(*limit),
                human(*needed),
                exact_when_rounding_hides(*needed, limit.saturating_sub(*used)),
            )?,
            AdmitError::VideoAllotmentExceeded {
                plan,
                used,
                allotment,
                needed,
                resets_on,
            } => write!(
                f,
                "Not enough of this month's video allotment left on the {plan} plan: {} used of \
                 {}, this video needs {}{}; the allotment resets on {resets_on} (UTC).",
                human(*used),
                human(*allotment),
                human(*needed),
                exact_when_rounding_hides(*needed, allotment.saturating_sub(*used)),
            )?,
            AdmitError::VideoNotAllowedOnPlan { plan } => write!(
                f,
                "Videos cannot be uploaded on the {plan} plan, which has no video allotment."
            )?,
            AdmitError::VideoTooLarge { plan, size, cap } => write!(
                f,
                "This video is {}, larger than the {} per-video limit of the {plan} plan{}.",
                human(*size),
                human(*cap),
                exact_when_rounding_hides(*size, *cap),
            )?,
            AdmitError::UnsupportedFormat { category, .. } if category == CATEGORY_EMPTY => {
                write!(f, "Smartimage does not accept empty files.")?
            }
            AdmitError::UnsupportedFormat { format, category } => write!(
                f,
                "Smartimage does not accept {} ({category}).",
                format_in_sentence(format)
            )?,
            AdmitError::Unknown { detail } => {
                let detail = detail.trim().trim_end_matches('.');
                if detail.is_empty() {
                    write!(f, "The file could not be imported for an unknown reason.")?;
                } else {
                    write!(f, "The file could not be imported: {detail}.")?;
                }
            }
        }
        write!(f, " {}", self.kind().advice())
    }
}

/// Errors go to `--json` and the store as `{ "kind": "<id>", "message": "<sentence>" }`.
impl Serialize for AdmitError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("AdmitError", 2)?;
        fields.serialize_field("kind", &self.kind())?;
        fields.serialize_field("message", &self.to_string())?;
        fields.end()
    }
}

/// `used + needed <= limit`, where a sum past `u64::MAX` can never fit.
fn fits(used: u64, needed: u64, limit: u64) -> bool {
    used.checked_add(needed).is_some_and(|total| total <= limit)
}

/// Decides whether one file may be imported and, if so, what to reserve. Checks run cheapest
/// and most definitive first: format, the no-video ban, the per-video cap, the monthly video
/// allotment, then storage (which videos count against too). Exactly reaching a limit is
/// allowed. `name` is not consulted: `detection` already carries what the name or content said.
pub fn admit(
    plan: &Plan,
    usage: Usage,
    name: &str,
    size: u64,
    detection: &Detection,
    now: OffsetDateTime,
) -> Result<Admission, AdmitError> {
    let _ = name;
    if let Verdict::Unsupported { category } = &detection.verdict {
        return Err(AdmitError::UnsupportedFormat {
            format: detection.format.clone(),
            category: category.clone(),
        });
    }
    let is_video = detection.is_video();
    if is_video {
        if !plan.allows_video() {
            return Err(AdmitError::VideoNotAllowedOnPlan {
                plan: plan.name.clone(),
            });
        }
        if size > plan.max_video_bytes {
            return Err(AdmitError::VideoTooLarge {
                plan: plan.name.clone(),
                size,
                cap: plan.max_video_bytes,
            });
        }
        if !fits(
            usage.video_bytes_this_month,
            size,
            plan.video_bytes_per_month,
        ) {
            return Err(AdmitError::VideoAllotmentExceeded {
                plan: plan.name.clone(),
                used: usage.video_bytes_this_month,
                allotment: plan.video_bytes_per_month,
                needed: size,
                resets_on: next_reset(now),
            });
        }
    }
    if !fits(usage.storage_bytes, size, plan.storage_limit_bytes) {
        return Err(AdmitError::StorageLimitExceeded {
            plan: plan.name.clone(),
            used: usage.storage_bytes,
            limit: plan.storage_limit_bytes,
            needed: size,
        });
    }
    Ok(Admission {
        storage_bytes: size,
        video_bytes: if is_video { size } else { 0 },
    })
}

/// `now` in UTC; an instant whose UTC date falls outside `time`'s calendar clamps to its edge.
fn in_utc(now: OffsetDateTime) -> OffsetDateTime {
    now.checked_to_offset(UtcOffset::UTC).unwrap_or_else(|| {
        if now.offset().is_negative() {
            PrimitiveDateTime::MAX.assume_utc()
        } else {
            PrimitiveDateTime::MIN.assume_utc()
        }
    })
}

/// The video month containing `now`: `[start, next start)`, both at 00:00 UTC on the 1st,
/// whatever offset `now` carries. In December 9999 the end clamps to the last representable
/// instant, since the next month cannot be represented.
pub fn video_month_bounds(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let today = in_utc(now).date();
    let first = today
        .replace_day(1)
        .expect("every month has a 1st, so day 1 is always valid");
    let next_first = match first.month() {
        Month::December => Date::from_calendar_date(first.year() + 1, Month::January, 1),
        month => Date::from_calendar_date(first.year(), month.next(), 1),
    };
    let end = next_first
        .map(|date| date.midnight().assume_utc())
        .unwrap_or(PrimitiveDateTime::MAX.assume_utc());
    (first.midnight().assume_utc(), end)
}

/// The (UTC) date on which the monthly video allotment starts afresh.
pub fn next_reset(now: OffsetDateTime) -> Date {
    video_month_bounds(now).1.date()
}

/// A limit an account is close to (or past); shown to owners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "resource", rename_all = "snake_case")]
pub enum UsageWarning {
    Storage {
        plan: String,
        used: u64,
        limit: u64,
    },
    VideoAllotment {
        plan: String,
        used: u64,
        allotment: u64,
    },
}

impl UsageWarning {
    /// Whole percent of the limit used, rounded down (so it is never shown as 75 % too early).
    pub fn percent_used(&self) -> u64 {
        let (used, limit) = match self {
            UsageWarning::Storage { used, limit, .. } => (*used, *limit),
            UsageWarning::VideoAllotment {
                used, allotment, ..
            } => (*used, *allotment),
        };
        percent_of(used, limit)
    }
}

const PERCENT: u64 = 100;

/// A zero limit counts as fully used: there is nothing left to use.
fn percent_of(used: u64, limit: u64) -> u64 {
    if limit == 0 {
        return PERCENT;
    }
    let percent = u128::from(used) * u128::from(PERCENT) / u128::from(limit);
    u64::try_from(percent).unwrap_or(u64::MAX)
}

/// A zero limit is "nothing allowed", not "always full", so it never warns.
fn reached_warning_level(used: u64, limit: u64) -> bool {
    limit > 0
        && u128::from(used) * u128::from(PERCENT) >= u128::from(limit) * u128::from(WARNING_PERCENT)
}

impl fmt::Display for UsageWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = self.percent_used();
        match self {
            UsageWarning::Storage { plan, used, limit } => write!(
                f,
                "Storage is at {percent} % of the {plan} plan's limit: {} used of {}. Free up \
                 space or upgrade the plan before imports start failing.",
                human(*used),
                human(*limit),
            ),
            UsageWarning::VideoAllotment {
                plan,
                used,
                allotment,
            } => write!(
                f,
                "This month's video allotment is at {percent} % on the {plan} plan: {} used of \
                 {}. It resets on the 1st (UTC); upgrade the plan if more video is needed sooner.",
                human(*used),
                human(*allotment),
            ),
        }
    }
}

/// Storage and/or video usage at or above [`WARNING_FRACTION`] of the plan's limits.
pub fn usage_warnings(plan: &Plan, usage: Usage) -> Vec<UsageWarning> {
    let mut warnings = Vec::new();
    if reached_warning_level(usage.storage_bytes, plan.storage_limit_bytes) {
        warnings.push(UsageWarning::Storage {
            plan: plan.name.clone(),
            used: usage.storage_bytes,
            limit: plan.storage_limit_bytes,
        });
    }
    if reached_warning_level(usage.video_bytes_this_month, plan.video_bytes_per_month) {
        warnings.push(UsageWarning::VideoAllotment {
            plan: plan.name.clone(),
            used: usage.video_bytes_this_month,
            allotment: plan.video_bytes_per_month,
        });
    }
    warnings
}

#[cfg(test)]
mod tests;
