//! Text from Dropbox and from users is untrusted: before it reaches a terminal, control
//! characters, escape sequences and bidi overrides are shown escaped, never interpreted.

use std::borrow::Cow;

fn needs_escape(ch: char) -> bool {
    ch.is_control()
        || matches!(ch, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `s` with every control or bidi-override character replaced by a visible `\u{..}` escape.
pub fn escape_for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        if needs_escape(ch) {
            out.push_str(&format!("\\u{{{:x}}}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_ordinary_text_alone() {
        assert!(matches!(
            escape_for_terminal("Café 日本 😀.jpg"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escapes_ansi_osc_and_bidi_sequences() {
        let hostile = "a\u{1b}[2J\u{1b}]0;pwned\u{7}b\u{202E}gpj.exe\r\n";
        let shown = escape_for_terminal(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert_eq!(
            shown,
            "a\\u{1b}[2J\\u{1b}]0;pwned\\u{7}b\\u{202e}gpj.exe\\u{d}\\u{a}"
        );
    }
}
