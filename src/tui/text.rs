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

/// `s` escaped and cut in the middle to at most `width` columns, so both ends survive: a
/// path keeps its first folder and its file name (`/Acme/batch…/img_0042.jpg`).
pub fn fit_middle(s: &str, width: usize) -> String {
    let clean = escape_for_terminal(s);
    if clean.width() <= width {
        return clean.into_owned();
    }
    if width < 8 {
        return fit(s, width);
    }
    let chars: Vec<char> = clean.chars().collect();
    // The end gets two thirds of what is left after the ellipsis — or the whole file name
    // (after the last `/`) when that leaves at least one column of the start.
    let name_width = clean.rsplit('/').next().map_or(0, |n| n.width());
    let tail_budget = ((width - 1) * 2 / 3).max(name_width.min(width - 2));
    let mut tail = Vec::new();
    let mut used = 0;
    for ch in chars.iter().rev() {
        let w = ch.width().unwrap_or(0);
        if used + w > tail_budget {
            break;
        }
        tail.push(*ch);
        used += w;
    }
    let head_budget = width - 1 - used;
    let mut out = String::new();
    let mut head_used = 0;
    for ch in &chars {
        let w = ch.width().unwrap_or(0);
        if head_used + w > head_budget {
            break;
        }
        out.push(*ch);
        head_used += w;
    }
    out.push(ELLIPSIS);
    out.extend(tail.iter().rev());
    out
}

/// `s` escaped and cut at the start to at most `width` columns, keeping its end
/// (`…/demo/Dropbox`).
pub fn fit_start(s: &str, width: usize) -> String {
    let clean = escape_for_terminal(s);
    if clean.width() <= width {
        return clean.into_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut tail = Vec::new();
    let mut used = 0;
    for ch in clean.chars().rev() {
        let w = ch.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        tail.push(ch);
        used += w;
    }
    std::iter::once(ELLIPSIS)
        .chain(tail.into_iter().rev())
        .collect()
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A `width`-wide text gauge "[#####·····]  42%", for lists and tables alike.
pub fn gauge(used: u64, limit: u64, width: usize) -> (String, u64) {
    let percent = used
        .saturating_mul(100)
        .checked_div(limit)
        .unwrap_or(0)
        .min(999);
    let filled = ((percent.min(100) as usize) * width).div_ceil(100);
    let bar = format!(
        "[{}{}] {:>3}%",
        "#".repeat(filled),
        "·".repeat(width - filled.min(width)),
        percent
    );
    (bar, percent)
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

    #[test]
    fn a_path_cut_at_the_start_keeps_its_end() {
        assert_eq!(
            fit_start("/tmp/.tmpab12/demo/Dropbox", 14),
            "…/demo/Dropbox"
        );
        assert_eq!(fit_start("/srv/Dropbox", 14), "/srv/Dropbox");
    }

    #[test]
    fn a_path_cut_in_the_middle_keeps_its_file_name() {
        let path = "/Acme Marketing/batch50/img_0042.jpg";
        let cut = fit_middle(path, 24);
        assert!(cut.ends_with("img_0042.jpg"), "{cut}");
        assert!(cut.starts_with("/Acme"), "{cut}");
        assert_eq!(cut.width(), 24);
        assert_eq!(fit_middle(path, 80), path);
        // A name that fits is kept whole, even past two thirds of the width.
        assert_eq!(
            fit_middle("/Acme Marketing/disguised.jpg", 19),
            "/Acme…disguised.jpg"
        );
        let wide = fit_middle("/写真/日本語のファイル名です.jpg", 15);
        assert!(wide.width() <= 15 && wide.ends_with(".jpg"), "{wide}");
    }
}
