//! Validation of names people type: account, collection and admin names, and emails.
//! A rejected name changes nothing and gets a sentence saying what is wrong with it.

use crate::library::error::{LibraryError, Result};

/// Longest account or collection name, in characters (a Dropbox folder name allows 255 bytes).
pub const MAX_NAME_CHARS: usize = 80;
/// RFC 5321 limit for a whole address.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Characters that would make a name lie about itself on screen: controls, and the
/// bidirectional overrides/isolates that can reverse how text is displayed.
fn is_deceptive(ch: char) -> bool {
    ch.is_control()
        || matches!(ch, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Trim and check a display name; `what` is e.g. "account name".
pub fn validate_name(what: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(LibraryError::InvalidInput(format!(
            "the {what} is empty; give it at least one visible character"
        )));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(LibraryError::InvalidInput(format!(
            "the {what} is {chars} characters long; the limit is {MAX_NAME_CHARS}"
        )));
    }
    if let Some(bad) = name.chars().find(|&c| is_deceptive(c)) {
        return Err(LibraryError::InvalidInput(format!(
            "the {what} contains the invisible or control character U+{:04X}; use printable characters only",
            bad as u32
        )));
    }
    Ok(name.to_owned())
}

/// Trim and check an email address (shape only: one `@`, something on both sides, no spaces).
pub fn validate_email(raw: &str) -> Result<String> {
    let email = raw.trim();
    let bad = |why: &str| {
        LibraryError::InvalidInput(format!("{email:?} is not a usable email address: {why}"))
    };
    if email.is_empty() {
        return Err(LibraryError::InvalidInput(
            "the email address is empty".into(),
        ));
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(bad("longer than 254 characters"));
    }
    if email.chars().any(|c| c.is_whitespace() || is_deceptive(c)) {
        return Err(bad("it contains spaces or control characters"));
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(email.to_owned())
        }
        _ => Err(bad("it needs exactly one @ with text on both sides")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_ordinary_names() {
        assert_eq!(
            validate_name("account name", "  Acme Marketing ").unwrap(),
            "Acme Marketing"
        );
        assert_eq!(
            validate_name("account name", "Café Ünïcode 日本").unwrap(),
            "Café Ünïcode 日本"
        );
    }

    #[test]
    fn rejects_empty_and_blank_names() {
        assert!(validate_name("account name", "").is_err());
        assert!(validate_name("account name", " \t ").is_err());
    }

    #[test]
    fn rejects_names_over_the_limit_but_accepts_exactly_the_limit() {
        let at_limit = "é".repeat(MAX_NAME_CHARS);
        assert!(validate_name("collection name", &at_limit).is_ok());
        let over = "é".repeat(MAX_NAME_CHARS + 1);
        let err = validate_name("collection name", &over)
            .unwrap_err()
            .to_string();
        assert!(err.contains("81 characters"), "{err}");
    }

    #[test]
    fn rejects_control_escape_and_bidi_characters() {
        for bad in [
            "a\u{1b}[31mred",
            "tab\there",
            "nul\0",
            "evil\u{202E}gpj.exe",
            "zero\u{200B}width",
            "del\u{7f}",
        ] {
            let err = validate_name("account name", bad).unwrap_err().to_string();
            assert!(err.contains("U+"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn accepts_plausible_emails_and_rejects_malformed_ones() {
        assert_eq!(
            validate_email(" Ann@Example.com ").unwrap(),
            "Ann@Example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "a@b@c",
            "ann smith@example.com",
            "ann\u{1b}@x.y",
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
