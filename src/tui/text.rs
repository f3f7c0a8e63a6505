//! Untrusted text (Dropbox paths, account names, error details) made safe for a cell grid:
//! control and bidi characters escaped, then cut to a display width with an ellipsis.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::terminal_text::escape_for_terminal;

const ELLIPSIS: char = '…';

/// `s` escaped and cut to at most `width` terminal columns (wide characters count double).
pub fn fit(s: &str, width: usize) -> String {
    let clean = escape_for_terminal(s);
    if clean.width() <= width {
        return clean.into_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in clean.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push(ELLIPSIS);
    out
}

/// `s` escaped, not cut (for wrapped detail views).
pub fn clean(s: &str) -> String {
    escape_for_terminal(s).into_owned()
}

/// Bytes in IEC units ("1.2 MiB").
pub fn bytes(n: u64) -> String {
    bytesize::ByteSize::b(n).display().iec().to_string()
}

/// Unix seconds as "YYYY-MM-DD HH:MM" UTC.
pub fn time_utc(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_sequences_before_cutting() {
        assert_eq!(fit("a\u{1b}[31mb", 40), "a\\u{1b}[31mb");
    }

    #[test]
    fn cuts_wide_text_to_its_display_width_with_an_ellipsis() {
        let cut = fit("日本語のファイル.jpg", 7);
        assert_eq!(cut, "日本語…");
        assert!(cut.width() <= 7);
        assert_eq!(fit("short", 5), "short");
        assert_eq!(fit("longer", 5), "long…");
    }
}
