//! Name filtering the way people type: case-insensitive over all of Unicode, as a substring or
//! fuzzily (the typed characters in order, gaps allowed). SQLite's `LIKE` folds ASCII only, so
//! the exact check is this Rust function, registered on every connection; the trigram index
//! (`file_names`, migration V2) only narrows the candidates.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

/// `smartimage_name_matches(name, folded_needle, fuzzy)` in SQL.
pub const MATCH_FUNCTION: &str = "smartimage_name_matches";
/// The trigram tokenizer indexes runs of this many characters; shorter needles cannot use it.
pub const TRIGRAM: usize = 3;

/// A needle or a name as it is compared: lower-cased with Unicode's rules (a needle once per
/// query). The one definition of case-insensitivity: [`matches`] and the in-memory name index
/// ([`super::name_index`]) both fold with it.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// Append `fold(name)` to `out`, without allocating for an ASCII name.
pub fn fold_into(name: &str, out: &mut Vec<u8>) {
    if name.is_ascii() {
        // For ASCII, Unicode's lower-casing is exactly ASCII's.
        out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
    } else {
        out.extend_from_slice(fold(name).as_bytes());
    }
}

/// Does `name` match the folded needle? Empty needles match everything.
pub fn matches(name: &str, folded_needle: &str, fuzzy: bool) -> bool {
    if folded_needle.is_empty() {
        return true;
    }
    if name.is_ascii() && folded_needle.is_ascii() {
        // The common case, without allocating.
        let (hay, needle) = (name.as_bytes(), folded_needle.as_bytes());
        return if fuzzy {
            is_subsequence(
                needle.iter().copied(),
                hay.iter().map(u8::to_ascii_lowercase),
            )
        } else {
            hay.windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
        };
    }
    let folded = fold(name);
    if fuzzy {
        is_subsequence(folded_needle.chars(), folded.chars())
    } else {
        folded.contains(folded_needle)
    }
}

fn is_subsequence<T: PartialEq>(
    needle: impl IntoIterator<Item = T>,
    hay: impl IntoIterator<Item = T>,
) -> bool {
    let mut hay = hay.into_iter();
    needle.into_iter().all(|n| hay.by_ref().any(|h| h == n))
}

/// Make [`MATCH_FUNCTION`] callable on `c`.
pub fn register(c: &Connection) -> rusqlite::Result<()> {
    c.create_scalar_function(
        MATCH_FUNCTION,
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let name = ctx.get_raw(0).as_str().unwrap_or("");
            let needle = ctx.get_raw(1).as_str().unwrap_or("");
            let fuzzy: bool = ctx.get(2)?;
            Ok(matches(name, needle, fuzzy))
        },
    )
}

/// The trigram-index query for a substring: every trigram of the needle, ANDed (a superset of
/// the matches; the exact check follows). `None` when the needle is too short to have one.
pub fn trigram_query(folded_needle: &str) -> Option<String> {
    let chars: Vec<char> = folded_needle.chars().collect();
    if chars.len() < TRIGRAM {
        return None;
    }
    let mut terms: Vec<String> = chars
        .windows(TRIGRAM)
        .map(|w| {
            let t: String = w.iter().collect();
            format!("\"{}\"", t.replace('"', "\"\""))
        })
        .collect();
    terms.sort();
    terms.dedup();
    Some(terms.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_ignores_case_across_unicode() {
        assert!(matches("Hero.PNG", &fold("ro.p"), false));
        assert!(matches("ÉTÉ à Paris.jpg", &fold("été"), false));
        assert!(matches("ЖУРНАЛ.jpg", &fold("журнал"), false));
        assert!(!matches("hero.png", &fold("hx"), false));
        assert!(matches("anything", "", false));
    }

    #[test]
    fn fold_into_is_fold() {
        for name in [
            "Hero.PNG",
            "ÉTÉ à Paris.jpg",
            "ΟΔΟΣ.png",
            "İstanbul",
            "\u{212a}elvin",
            "",
        ] {
            let mut out = vec![];
            fold_into(name, &mut out);
            assert_eq!(out, fold(name).into_bytes(), "{name:?}");
        }
    }

    #[test]
    fn fuzzy_takes_the_characters_in_order_with_gaps() {
        assert!(matches("hero-launch.png", &fold("hlp"), true));
        assert!(matches("Жёлтый.png", &fold("Жpg"), true));
        assert!(!matches("hero.png", &fold("ph"), true));
    }

    #[test]
    fn trigram_query_ands_every_trigram_and_quotes_them() {
        assert_eq!(trigram_query("ab"), None);
        assert_eq!(
            trigram_query("a\"bcb").unwrap(),
            "\"\"\"bc\" AND \"a\"\"b\" AND \"bcb\""
        );
        assert_eq!(trigram_query("aaaa").unwrap(), "\"aaa\"");
    }
}
