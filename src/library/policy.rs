//! Plan rules: storage limit, monthly video allotment, the Basic-plan video ban, the per-video
//! size cap and supported formats — one admission function with a typed verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::library::formats::Detection;

/// One plan's limits. `video_bytes_per_month == 0` means videos are not allowed at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub storage_limit_bytes: u64,
    pub video_bytes_per_month: u64,
    pub max_video_bytes: u64,
}

/// Partial plan settings from the config file; missing keys keep the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanOverride {
    pub storage_limit_bytes: Option<u64>,
    pub video_bytes_per_month: Option<u64>,
    pub max_video_bytes: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanCatalog {
    plans: BTreeMap<String, Plan>,
}

impl PlanCatalog {
    pub fn defaults() -> Self {
        todo!("policy helper")
    }
    pub fn with_overrides(overrides: &BTreeMap<String, PlanOverride>) -> Self {
        let _ = overrides;
        todo!("policy helper")
    }
    pub fn get(&self, name: &str) -> Option<&Plan> {
        self.plans.get(&name.to_ascii_lowercase())
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    StorageLimit,
    VideoAllotment,
    VideoOnBasicPlan,
    VideoTooLarge,
    UnsupportedFormat,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("todo")]
    Todo,
}

pub fn admit(
    plan: &Plan,
    usage: Usage,
    name: &str,
    size: u64,
    detection: &Detection,
    now: OffsetDateTime,
) -> Result<Admission, AdmitError> {
    let _ = (plan, usage, name, size, detection, now);
    todo!("policy helper")
}
