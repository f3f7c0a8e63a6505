//! The TXT error report an account's Dropbox folder holds while files there fail: what fails,
//! grouped by error as the Smartimage help article names them, each file with its path, size and
//! detected format, and per group what to do. One current report per folder, under one name;
//! its second line carries our signature, so it is known as ours under any name.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::library::policy::ErrorKind;
use crate::terminal_text::escape_for_terminal;

/// The one current report in an account folder.
pub const REPORT_FILE_NAME: &str = "Smartimage upload errors.txt";
/// Every report's name starts with this (earlier versions added ` <UTC time>`, Dropbox may add
/// ` (1)`): the scanner never imports such a file.
pub const REPORT_NAME_STEM: &str = "Smartimage upload errors";
pub const REPORT_NAME_SUFFIX: &str = ".txt";
/// The mark in a report's content that makes it ours whatever it is called.
pub const REPORT_SIGNATURE: &str = "smartimage-error-report/2";
/// How much of a file's start is searched for the signature (the report puts it on line 2).
pub const SIGNATURE_WINDOW: usize = 4096;
/// The first line of every report, this version's and earlier ones'.
const TITLE: &str = "Smartimage upload errors";
/// What earlier versions (no signature) wrote in their first lines.
const LEGACY_MARKS: [&str; 2] = [
    "\nAccount: ",
    "could not be uploaded to Smartimage from this Dropbox folder.",
];

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
    /// When the set of failing files (or what is known of them) last changed.
    pub changed_at: OffsetDateTime,
    pub failures: Vec<FailedFile>,
}

/// True for names our reports use, this version's and earlier ones' (case-insensitive, as
/// Dropbox compares names).
pub fn is_report_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower.starts_with(&REPORT_NAME_STEM.to_lowercase()) && lower.ends_with(REPORT_NAME_SUFFIX)
}

/// True for the current report's own name.
pub fn is_current_report_name(name: &str) -> bool {
    name.to_lowercase() == REPORT_FILE_NAME.to_lowercase()
}

/// True when `head` (a file's first bytes, up to [`SIGNATURE_WINDOW`]) is one of our reports:
/// it carries the signature, or it starts as the reports of earlier versions did.
pub fn is_report_content(head: &[u8]) -> bool {
    let head = &head[..head.len().min(SIGNATURE_WINDOW)];
    // On the bytes: every downloaded file is checked, nearly all are photos, and decoding them
    // as text cost more than the check (the signature is ASCII, which decoding keeps as is).
    let signature = REPORT_SIGNATURE.as_bytes();
    if head.windows(signature.len()).any(|w| w == signature) {
        return true;
    }
    let mut start = head;
    while let Some(rest) = start.strip_prefix("\u{feff}".as_bytes()) {
        start = rest;
    }
    if !start.starts_with(TITLE.as_bytes()) {
        return false;
    }
    let text = String::from_utf8_lossy(start);
    let text = text.replace("\r\n", "\n");
    text.starts_with(&format!("{TITLE}\n===")) && LEGACY_MARKS.iter().all(|m| text.contains(m))
}

fn human_bytes(n: u64) -> String {
    bytesize::ByteSize::b(n).display().iec().to_string()
}

impl ErrorReport {
    /// The report text: the same failures and time always give the same bytes (files sorted
    /// by path within their group), so an unchanged report is recognised by its content hash.
    /// Names from Dropbox are escaped so the file is safe to `cat`.
    pub fn render(&self) -> String {
        let when = self.when();
        let count = self.failures.len();
        let mut out = String::new();
        out.push_str(&format!("{TITLE}\n"));
        out.push_str(&format!(
            "Kept up to date by Smartimage ({REPORT_SIGNATURE}): it lists the files that fail \
             now and goes away when none does.\n"
        ));
        out.push_str(&format!("{}\n\n", "=".repeat(TITLE.len())));
        self.push_heading(&mut out, &when);
        out.push_str(&format!(
            "{count} file{} could not be uploaded to Smartimage from this Dropbox folder. {} left in \
             this folder untouched; nothing was uploaded for {}.\n",
            if count == 1 { "" } else { "s" },
            if count == 1 { "It was" } else { "They were" },
            if count == 1 { "it" } else { "them" },
        ));
        self.push_groups(&mut out);
        out.push_str(
            "\nA failed file is tried again when it changes or is moved back into this folder, or \
             when an admin retries it in the Smartimage console (Error log, key r). This report is \
             rewritten whenever the list changes; notes added to it are not kept.\n",
        );
        out
    }

    fn when(&self) -> String {
        self.changed_at
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(self.changed_at)
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.changed_at.unix_timestamp().to_string())
    }

    fn push_heading(&self, out: &mut String, when: &str) {
        out.push_str(&format!(
            "Account: {}\n",
            escape_for_terminal(&self.account)
        ));
        out.push_str(&format!("Plan:    {}\n", self.plan));
        out.push_str(&format!("Changed: {when} (UTC)\n\n"));
    }

    /// The failures grouped by error, each group with its advice: the report's body, shared
    /// with the notification digest.
    fn push_groups(&self, out: &mut String) {
        let mut groups: BTreeMap<ErrorKind, Vec<&FailedFile>> = BTreeMap::new();
        for failure in &self.failures {
            groups.entry(failure.kind).or_default().push(failure);
        }
        for files in groups.values_mut() {
            files.sort_by(|a, b| a.path.cmp(&b.path));
        }
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
    }

    /// The email digest of the same failures (issue #23): the subject, and plain text with the
    /// report's groups and advice. It names the account's own files only.
    pub fn digest(&self) -> (String, String) {
        let count = self.failures.len();
        let subject = format!(
            "Smartimage: {count} file{} from Dropbox could not be uploaded to {:?}",
            if count == 1 { "" } else { "s" },
            escape_for_terminal(&self.account)
        );
        let mut out = String::new();
        out.push_str(&format!(
            "{count} file{} dropped into the Dropbox folder of the Smartimage account {:?} could \
             not be uploaded. {} left in the folder untouched; the folder's \"{REPORT_FILE_NAME}\" \
             lists {} too.\n\n",
            if count == 1 { "" } else { "s" },
            escape_for_terminal(&self.account),
            if count == 1 { "It was" } else { "They were" },
            if count == 1 { "it" } else { "them" },
        ));
        self.push_heading(&mut out, &self.when());
        self.push_groups(&mut out);
        out.push_str(
            "\nA failed file is tried again when it changes or is moved back into the folder, or \
             when an admin retries it in the Smartimage console (Error log, key r). You get at most \
             one such summary per account in a while; turn them off with `smartimage account \
             notify NAME off` (owners) or `smartimage admin notify EMAIL off` (yourself).\n",
        );
        (subject, out)
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
            changed_at: datetime!(2026-11-27 14:05:09 UTC),
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
    fn report_names_of_this_and_earlier_versions_are_recognised() {
        assert!(is_report_name(REPORT_FILE_NAME));
        assert!(is_current_report_name("smartimage UPLOAD errors.TXT"));
        assert!(is_report_name(
            "Smartimage upload errors 2026-11-27T14-05-09Z.txt"
        ));
        assert!(!is_current_report_name(
            "Smartimage upload errors 2026-11-27T14-05-09Z.txt"
        ));
        assert!(is_report_name("smartimage UPLOAD errors (1).TXT"));
        assert!(!is_report_name("Smartimage upload errors.jpg"));
        assert!(!is_report_name("holiday.txt"));
    }

    #[test]
    fn the_signature_makes_a_report_ours_under_any_name() {
        let text = report(vec![failure("/A/clip.mp4", ErrorKind::VideoOnBasicPlan)]).render();
        assert!(text.lines().nth(1).unwrap().contains(REPORT_SIGNATURE));
        assert!(is_report_content(text.as_bytes()));
        // Edited on Windows: a byte-order mark and CRLF line ends.
        let edited = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        assert!(is_report_content(edited.as_bytes()));
        assert!(!is_report_content(b"Not a report, just notes.\n"));
        assert!(!is_report_content(
            b"Smartimage upload errors\nmy own list of things to fix\n"
        ));
    }

    #[test]
    fn reports_of_earlier_versions_are_recognised_by_their_first_lines() {
        let legacy = "Smartimage upload errors\n========================\n\nAccount: Acme\n\
                      Plan:    basic\nTime:    2026-11-27T14:05:09Z (UTC)\n\n1 file could not be \
                      uploaded to Smartimage from this Dropbox folder. It was left in this folder \
                      untouched; nothing was uploaded for it.\n";
        assert!(is_report_content(legacy.as_bytes()));
        assert!(is_report_content(legacy.replace('\n', "\r\n").as_bytes()));
        let with_bom = format!("\u{feff}{legacy}");
        assert!(is_report_content(with_bom.as_bytes()));
        // The title somewhere inside is not the start of a report.
        assert!(!is_report_content(format!("x{legacy}").as_bytes()));
    }

    #[test]
    fn the_signature_is_found_among_bytes_that_are_not_text() {
        let mut bytes = vec![0xff, 0xd8, 0xe2, 0x82];
        bytes.extend_from_slice(REPORT_SIGNATURE.as_bytes());
        bytes.extend_from_slice(&[0x80, 0x00]);
        assert!(is_report_content(&bytes));
        let photo: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        assert!(!is_report_content(&photo));
    }

    #[test]
    fn the_same_failures_in_any_order_give_the_same_bytes() {
        let a = failure("/A/a.mp4", ErrorKind::VideoOnBasicPlan);
        let b = failure("/A/b.mp4", ErrorKind::VideoOnBasicPlan);
        let c = failure("/A/c.exe", ErrorKind::UnsupportedFormat);
        assert_eq!(
            report(vec![a.clone(), b.clone(), c.clone()]).render(),
            report(vec![c, b, a]).render()
        );
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
        assert!(text.contains("Changed: 2026-11-27T14:05:09Z (UTC)"));
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
    fn the_digest_lists_the_reports_groups_and_advice() {
        let r = report(vec![
            failure("/Acme Marketing/clip.mp4", ErrorKind::VideoOnBasicPlan),
            failure("/Acme Marketing/setup.exe", ErrorKind::UnsupportedFormat),
        ]);
        let (subject, text) = r.digest();
        assert!(subject.contains("2 files") && subject.contains("Acme Marketing"));
        let mut groups = String::new();
        r.push_groups(&mut groups);
        assert!(r.render().contains(&groups) && text.contains(&groups));
        assert!(
            !text.contains(REPORT_SIGNATURE),
            "a message is not a report"
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
