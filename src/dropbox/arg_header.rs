//! JSON in HTTP headers: `Dropbox-API-Arg` must be "HTTP header safe", so every
//! character outside printable ASCII is sent as a `\uXXXX` escape per UTF-16 code unit.
//! `Dropbox-API-Result` comes back in the same form and is read with the ordinary JSON decoder.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Serialize `arg` as JSON that is safe to put into a `Dropbox-API-Arg` header.
///
/// serde_json already escapes `"`, `\` and control characters but leaves DEL and non-ASCII as
/// they are; `http::HeaderValue` would then send raw UTF-8 without complaint, which Dropbox
/// does not document as accepted.
pub fn encode_api_arg<T: Serialize>(arg: &T) -> Result<String, serde_json::Error> {
    let json = serde_json::to_string(arg)?;
    Ok(escape_to_printable_ascii(&json))
}

/// Parse a `Dropbox-API-Result` header (or the emulator's view of a `Dropbox-API-Arg`) as JSON.
/// `\uXXXX` escapes, including surrogate pairs, are plain JSON; a lone surrogate is an error.
pub fn decode_api_result<T: DeserializeOwned>(header: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(header)
}

/// Escapes per UTF-16 code unit, so astral characters become surrogate pairs. Writing the
/// whole code point (`\u1f600`) is the bug the Rust SDK 0.21 ships.
fn escape_to_printable_ascii(json: &str) -> String {
    const UTF16_UNITS_PER_CHAR: usize = 2;
    let mut escaped = String::with_capacity(json.len());
    let mut units = [0u16; UTF16_UNITS_PER_CHAR];
    for c in json.chars() {
        if is_header_safe(c) {
            escaped.push(c);
        } else {
            for unit in c.encode_utf16(&mut units) {
                escaped.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    escaped
}

/// Printable ASCII, space through tilde; DEL (0x7F) is excluded explicitly, as Dropbox asks.
fn is_header_safe(c: char) -> bool {
    (' '..='~').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct PathArg {
        path: String,
    }

    fn encode_path(path: &str) -> String {
        encode_api_arg(&PathArg {
            path: path.to_owned(),
        })
        .expect("a struct of strings serializes")
    }

    #[test]
    fn escapes_latin_letters_as_one_unit() {
        assert_eq!(
            encode_path("/acme/café.jpg"),
            r#"{"path":"/acme/caf\u00e9.jpg"}"#
        );
        assert_eq!(encode_path("ü"), r#"{"path":"\u00fc"}"#);
    }

    #[test]
    fn escapes_delete_character() {
        assert_eq!(encode_path("a\u{7f}b"), r#"{"path":"a\u007fb"}"#);
    }

    #[test]
    fn escapes_cjk() {
        assert_eq!(encode_path("日本"), r#"{"path":"\u65e5\u672c"}"#);
    }

    #[test]
    fn escapes_emoji_as_surrogate_pair() {
        assert_eq!(encode_path("😀"), r#"{"path":"\ud83d\ude00"}"#);
    }

    #[test]
    fn keeps_json_escapes_for_quote_and_backslash() {
        assert_eq!(encode_path(r#"a"b\c"#), r#"{"path":"a\"b\\c"}"#);
    }

    #[test]
    fn control_characters_stay_json_escaped() {
        assert_eq!(
            encode_path("\n\t\r\u{0}\u{1f}"),
            r#"{"path":"\n\t\r\u0000\u001f"}"#
        );
    }

    #[test]
    fn printable_ascii_passes_through_unchanged() {
        let printable: String = (' '..='~').filter(|c| !matches!(c, '"' | '\\')).collect();
        assert_eq!(
            encode_path(&printable),
            format!(r#"{{"path":"{printable}"}}"#)
        );
    }

    #[test]
    fn decodes_surrogate_pairs_and_bmp_escapes() {
        let decoded: PathArg =
            decode_api_result(r#"{"path":"/caf\u00e9 \ud83d\ude00 \u65e5"}"#).unwrap();
        assert_eq!(decoded.path, "/café 😀 日");
    }

    #[test]
    fn rejects_a_lone_surrogate() {
        assert!(decode_api_result::<PathArg>(r#"{"path":"\ud83d"}"#).is_err());
    }

    #[test]
    fn decodes_upper_case_hex_escapes() {
        let decoded: PathArg = decode_api_result(r#"{"path":"\uD83D\uDE00"}"#).unwrap();
        assert_eq!(decoded.path, "😀");
    }

    proptest! {
        #[test]
        fn any_path_encodes_to_printable_ascii_and_decodes_back(path in any::<String>()) {
            let header = encode_path(&path);
            prop_assert!(header.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{}", header);
            let decoded: PathArg = decode_api_result(&header).unwrap();
            prop_assert_eq!(decoded.path, path);
        }
    }
}
