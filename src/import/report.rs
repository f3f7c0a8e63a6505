//! The TXT error report written into an account's Dropbox folder after a pass with new
//! failures: what failed, grouped by error as the Smartimage help article names them, each
//! file with its path, size and detected format, and per group what to do.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::library::policy::ErrorKind;
use crate::terminal_text::escape_for_terminal;

/// Every report's file name starts with this; the scanner never imports such a file.
pub const REPORT_NAME_PREFIX: &str = "Smartimage upload errors ";
pub const REPORT_NAME_SUFFIX: &str = ".txt";

/// One file that stayed in Dropbox, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedFile {
    /// Path inside the account folder, as the admin sees it in Dropbox.
    pub path: String,
    pub size: u64,
    /// What detection found ("MP4 video", "Windows executable"), when it got that far.
    pub format: Option<String>,
    pub kind: ErrorKind,
    /// The full sentence (numbers included) for this file.
    pub detail: String,
}

#[derive(Clone, Debug)]
pub struct ErrorReport {
    pub account: String,
    pub plan: String,
    pub generated_at: OffsetDateTime,
    pub failures: Vec<FailedFile>,
}

/// True for names our reports use (case-insensitive, as Dropbox compares names).
pub fn is_report_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower.starts_with(&REPORT_NAME_PREFIX.to_lowercase()) && lower.ends_with(REPORT_NAME_SUFFIX)
}

fn human_bytes(n: u64) -> String {
    bytesize::ByteSize::b(n).display().iec().to_string()
}

impl ErrorReport {
    /// `Smartimage upload errors 2026-11-27T14-05-09Z.txt` — no colons, which some Dropbox
    /// clients cannot store.
    pub fn file_name(&self) -> String {
        let t = self.generated_at.to_offset(time::UtcOffset::UTC);
        format!(
            "{REPORT_NAME_PREFIX}{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z{REPORT_NAME_SUFFIX}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// The report text. Names from Dropbox are escaped so the file is safe to `cat`.
    pub fn render(&self) -> String {
        let when = self
            .generated_at
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(self.generated_at)
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.generated_at.unix_timestamp().to_string());
        let mut groups: BTreeMap<ErrorKind, Vec<&FailedFile>> = BTreeMap::new();
        for failure in &self.failures {
            groups.entry(failure.kind).or_default().push(failure);
        }
        let count = self.failures.len();
        let mut out = String::new();
        out.push_str("Smartimage upload errors\n");
        out.push_str("========================\n\n");
        out.push_str(&format!(
            "Account: {}\n",
            escape_for_terminal(&self.account)
        ));
        out.push_str(&format!("Plan:    {}\n", self.plan));
        out.push_str(&format!("Time:    {when} (UTC)\n\n"));
        out.push_str(&format!(
            "{count} file{} could not be uploaded to Smartimage from this Dropbox folder. {} left in \
             this folder untouched; nothing was uploaded for {}.\n",
            if count == 1 { "" } else { "s" },
            if count == 1 { "It was" } else { "They were" },
            if count == 1 { "it" } else { "them" },
        ));
        for (kind, files) in &groups {
            out.push_str(&format!("\n{} ({})\n", kind.title(), files.len()));
            out.push_str(&format!(
                "{}\n",
                "-".repeat(kind.title().chars().count() + 4)
            ));
            out.push_str(&format!("What to do: {}\n\n", kind.advice()));
            for f in files {
                let format = f.format.as_deref().unwrap_or("not determined");
                out.push_str(&format!(
                    "  * {}\n    size: {} ({} bytes), format: {}\n    {}\n",
                    escape_for_terminal(&f.path),
                    human_bytes(f.size),
                    f.size,
                    // "<EXT> file" for an unknown type: the extension is the uploader's text.
                    escape_for_terminal(format),
                    escape_for_terminal(&f.detail)
                ));
            }
        }
        out.push_str(
            "\nA failed file is tried again when it changes or is moved back into this folder, or \
             when an admin retries it in the Smartimage console (Error log, key r).\n",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn report(failures: Vec<FailedFile>) -> ErrorReport {
        ErrorReport {
            account: "Acme Marketing".into(),
            plan: "basic".into(),
            generated_at: datetime!(2026-11-27 14:05:09 UTC),
            failures,
        }
    }

    fn failure(path: &str, kind: ErrorKind) -> FailedFile {
        FailedFile {
            path: path.into(),
            size: 1_572_864,
            format: Some("MP4 video".into()),
            kind,
            detail: format!("{} happened", kind.title()),
        }
    }

    #[test]
    fn file_name_has_the_utc_time_and_no_colons() {
        let r = report(vec![]);
        assert_eq!(
            r.file_name(),
            "Smartimage upload errors 2026-11-27T14-05-09Z.txt"
        );
        assert!(is_report_name(&r.file_name()));
        assert!(is_report_name("smartimage UPLOAD errors anything.TXT"));
        assert!(!is_report_name("Smartimage upload errors.jpg"));
        assert!(!is_report_name("holiday.txt"));
    }

    #[test]
    fn groups_failures_by_error_with_advice_sizes_and_formats() {
        let text = report(vec![
            failure("/Acme Marketing/clip.mp4", ErrorKind::VideoOnBasicPlan),
            failure(
                "/Acme Marketing/sub/setup.jpg",
                ErrorKind::UnsupportedFormat,
            ),
            failure("/Acme Marketing/other.mov", ErrorKind::VideoOnBasicPlan),
        ])
        .render();
        assert!(text.contains("Account: Acme Marketing"));
        assert!(text.contains("2026-11-27T14:05:09Z (UTC)"));
        assert!(text.contains("3 files could not be uploaded"));
        let basic = text
            .find(ErrorKind::VideoOnBasicPlan.title())
            .expect("basic group");
        let unsupported = text
            .find(ErrorKind::UnsupportedFormat.title())
            .expect("unsupported group");
        assert!(text[basic..].contains("(2)"));
        assert_eq!(
            text.matches(ErrorKind::VideoOnBasicPlan.advice()).count(),
            1,
            "advice once per group"
        );
        assert!(text.contains(ErrorKind::UnsupportedFormat.advice()));
        assert!(basic != unsupported);
        assert!(text.contains("/Acme Marketing/sub/setup.jpg"));
        assert!(text.contains("1.5 MiB (1572864 bytes), format: MP4 video"));
        assert!(
            !text.contains(ErrorKind::StorageLimit.title()),
            "no empty groups"
        );
    }

    #[test]
    fn hostile_names_cannot_inject_terminal_escapes() {
        let text = report(vec![failure(
            "/A/\u{1b}]0;pwned\u{7}\u{202e}gpj.exe",
            ErrorKind::UnsupportedFormat,
        )])
        .render();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("\\u{1b}]0;pwned"));
    }

    /// Regression (found by the report-writer fuzz smoke): the format of an unknown type is
    /// "<EXT> file", built from the uploader's file name, and went into the report raw.
    #[test]
    fn a_format_named_after_a_hostile_extension_is_escaped() {
        let name = "notes.\u{1b}]0;pwned\u{7}";
        let mut f = failure(name, ErrorKind::UnsupportedFormat);
        f.format = Some(crate::library::formats::detect_by_name(name).format);
        assert!(f.format.as_deref().unwrap().contains('\u{1b}'));
        let text = report(vec![f]).render();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text}"
        );
        assert!(text.contains("\\u{1b}"), "shown escaped: {text}");
    }
}
