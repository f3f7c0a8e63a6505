//! Paths as terminals paste them when files are dropped on their window: separated by spaces or
//! newlines, some in quotes (`'My File.jpg'`, `"My File.jpg"`), some with backslash-escaped
//! spaces (`My\ File.jpg`), some as `file://` URLs with percent-escapes. The Upload… field holds
//! paths the same way, so one parser reads both.

use std::path::PathBuf;

/// The words of `text`, shell-like: whitespace separates, quotes group, a backslash outside
/// single quotes takes the next character as it is. An unclosed quote ends with the text (a
/// field being typed into). Whether the text ends inside a word is the second value.
pub fn split_words(text: &str) -> (Vec<String>, bool) {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    (words, in_word)
}

/// The paths in pasted (or typed) text, `file://` URLs decoded and `~/` expanded.
pub fn parse_paths(text: &str) -> Vec<PathBuf> {
    split_words(text)
        .0
        .iter()
        .filter(|w| !w.is_empty())
        .map(|w| PathBuf::from(expand_home(&from_file_url(w))))
        .collect()
}

/// `file:///a/b%20c` → `/a/b c` (`file://localhost/a` too); anything else unchanged.
pub fn from_file_url(word: &str) -> String {
    let Some(rest) = word.strip_prefix("file://") else {
        return word.to_owned();
    };
    // The host part ends at the first slash; only this machine's files can be read anyway.
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => return word.to_owned(),
    };
    percent_decode(path)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `~` and `~/x` mean the home directory, as in a shell.
pub fn expand_home(word: &str) -> String {
    let rest = match word {
        "~" => "",
        w => match w.strip_prefix("~/") {
            Some(rest) => rest,
            None => return word.to_owned(),
        },
    };
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(rest).display().to_string(),
        None => word.to_owned(),
    }
}

/// One word written so `split_words` reads it back: plain when it can be, else in single
/// quotes (a quote inside as `'\''`).
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '\'' | '"' | '\\'));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Paths as field text: quoted where needed, separated by spaces.
pub fn join(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| quote(&p.display().to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(v: &[&str]) -> Vec<PathBuf> {
        v.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn spaces_and_newlines_separate_quotes_and_backslashes_keep_spaces() {
        assert_eq!(
            parse_paths(
                "/a/one.jpg '/b/two words.png'\n\"/c/th\\\"ree.gif\" /d/four\\ five.mov\r\n"
            ),
            paths(&[
                "/a/one.jpg",
                "/b/two words.png",
                "/c/th\"ree.gif",
                "/d/four five.mov"
            ])
        );
        assert_eq!(parse_paths("  \n "), Vec::<PathBuf>::new());
    }

    #[test]
    fn file_urls_are_decoded_with_or_without_a_host() {
        assert_eq!(
            parse_paths("file:///home/ada/My%20Photo.jpg file://localhost/srv/%C3%A9t%C3%A9.png"),
            paths(&["/home/ada/My Photo.jpg", "/srv/été.png"])
        );
        // A stray percent is kept as it is.
        assert_eq!(from_file_url("file:///a/100%.jpg"), "/a/100%.jpg");
        assert_eq!(from_file_url("/plain/path"), "/plain/path");
    }

    #[test]
    fn an_unclosed_quote_ends_with_the_text() {
        assert_eq!(
            split_words("/a '/b/My Fo"),
            (vec!["/a".to_owned(), "/b/My Fo".to_owned()], true)
        );
        assert_eq!(split_words("/a "), (vec!["/a".to_owned()], false));
    }

    #[test]
    fn quoting_reads_back_the_same_paths() {
        let given = paths(&[
            "/a/plain.jpg",
            "/b/two words.png",
            "/c/it's.gif",
            "/d/back\\slash",
        ]);
        let text = join(&given);
        assert_eq!(text.split(' ').next(), Some("/a/plain.jpg"));
        assert_eq!(parse_paths(&text), given);
    }
}
