//! Tab in the Upload… field: complete the last path from the server's directory entries, as a
//! shell does. A unique match completes (a folder gains its `/`); several extend the value to
//! their common prefix and are listed. Reads one directory: run it off the UI task.

use std::path::Path;

use super::paste_paths::{expand_home, quote, split_words};

/// Most candidates listed.
pub const MAX_CANDIDATES: usize = 50;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// The field's new text.
    pub value: String,
    /// The entries that matched when there was more than one (folders end in `/`).
    pub candidates: Vec<String>,
}

/// Complete the last word of `text` (the field's value).
pub fn complete(text: &str) -> Completion {
    let unchanged = Completion {
        value: text.to_owned(),
        candidates: vec![],
    };
    let (mut words, open) = split_words(text);
    // After a separating space there is nothing to complete.
    let Some(last) = words.pop().filter(|_| open) else {
        return unchanged;
    };
    let last = expand_home(&last);
    let (dir, base) = match last.rfind('/') {
        Some(i) => (&last[..=i], &last[i + 1..]),
        None => ("", last.as_str()),
    };
    let read_from = if dir.is_empty() { "." } else { dir };
    let Ok(entries) = std::fs::read_dir(read_from) else {
        return unchanged;
    };
    let mut matches: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let hidden_ok = base.starts_with('.') || !name.starts_with('.');
            (hidden_ok && name.starts_with(base)).then(|| {
                let is_dir = Path::new(read_from).join(&name).is_dir();
                (name, is_dir)
            })
        })
        .collect();
    matches.sort();
    let completed = match matches.as_slice() {
        [] => return unchanged,
        [(name, is_dir)] => format!("{dir}{name}{}", if *is_dir { "/" } else { "" }),
        many => format!(
            "{dir}{}",
            common_prefix(many.iter().map(|(n, _)| n.as_str()))
        ),
    };
    let candidates = if matches.len() > 1 {
        matches
            .iter()
            .take(MAX_CANDIDATES)
            .map(|(n, d)| format!("{n}{}", if *d { "/" } else { "" }))
            .collect()
    } else {
        vec![]
    };
    words.push(completed);
    let mut value = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    // A unique file is finished: a space lets the next path be typed.
    let done = matches.len() == 1 && !matches[0].1;
    if done {
        value.push(' ');
    }
    Completion { value, candidates }
}

/// Complete a one-folder field (the synced Dropbox folder to link): the text is one path, not
/// quoted, and only folders match. `~/` stays as typed.
pub fn complete_folder(text: &str) -> Completion {
    let unchanged = Completion {
        value: text.to_owned(),
        candidates: vec![],
    };
    let (dir, base) = match text.rfind('/') {
        Some(i) => (&text[..=i], &text[i + 1..]),
        None => ("", text),
    };
    let read_from = if dir.is_empty() {
        ".".to_owned()
    } else {
        expand_home(dir)
    };
    let Ok(entries) = std::fs::read_dir(&read_from) else {
        return unchanged;
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let hidden_ok = base.starts_with('.') || !name.starts_with('.');
            let is_dir = Path::new(&read_from).join(&name).is_dir();
            (hidden_ok && is_dir && name.starts_with(base)).then_some(name)
        })
        .collect();
    names.sort();
    match names.as_slice() {
        [] => unchanged,
        [name] => Completion {
            value: format!("{dir}{name}/"),
            candidates: vec![],
        },
        many => Completion {
            value: format!("{dir}{}", common_prefix(many.iter().map(String::as_str))),
            candidates: many
                .iter()
                .take(MAX_CANDIDATES)
                .map(|n| format!("{n}/"))
                .collect(),
        },
    }
}

fn common_prefix<'a>(mut names: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = names.next() else {
        return String::new();
    };
    let mut len = first.len();
    for name in names {
        len = first
            .char_indices()
            .zip(name.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(len);
    }
    first[..len].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        std::fs::create_dir(dir.path().join("photo shoot")).unwrap();
        std::fs::write(dir.path().join("video.mov"), b"x").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        dir
    }

    #[test]
    fn a_unique_folder_completes_with_its_slash_and_a_file_with_a_space() {
        let dir = tree();
        let root = dir.path().display().to_string();
        let c = complete(&format!("{root}/phot"));
        // "phot" matches two: extended to the common prefix, both listed.
        assert_eq!(c.value, format!("{root}/photo"));
        assert_eq!(c.candidates, vec!["photo shoot/", "photos/"]);
        let c = complete(&format!("{root}/photos"));
        assert_eq!(c.value, format!("{root}/photos/"));
        assert!(c.candidates.is_empty());
        let c = complete(&format!("/x {root}/v"));
        assert_eq!(c.value, format!("/x {root}/video.mov "));
    }

    #[test]
    fn a_name_with_a_space_is_quoted_and_hidden_entries_need_a_dot() {
        let dir = tree();
        let root = dir.path().display().to_string();
        let c = complete(&format!("{root}/photo\\ "));
        assert_eq!(c.value, quote(&format!("{root}/photo shoot/")));
        let c = complete(&format!("{root}/"));
        assert_eq!(c.candidates, vec!["photo shoot/", "photos/", "video.mov"]);
        assert_eq!(
            complete(&format!("{root}/.h")).value,
            format!("{root}/.hidden ")
        );
    }

    #[test]
    fn the_folder_field_completes_folders_only_and_unquoted() {
        let dir = tree();
        let root = dir.path().display().to_string();
        let c = complete_folder(&format!("{root}/photo "));
        assert_eq!(c.value, format!("{root}/photo shoot/"));
        let c = complete_folder(&format!("{root}/"));
        assert_eq!(c.value, format!("{root}/photo"));
        assert_eq!(c.candidates, vec!["photo shoot/", "photos/"]);
        // A file is no folder to link.
        assert_eq!(
            complete_folder(&format!("{root}/vid")).value,
            format!("{root}/vid")
        );
    }

    #[test]
    fn nothing_to_complete_leaves_the_text() {
        let dir = tree();
        let root = dir.path().display().to_string();
        for text in [
            format!("{root}/nothing"),
            format!("{root}/photos "),
            String::new(),
        ] {
            assert_eq!(
                complete(&text),
                Completion {
                    value: text.clone(),
                    candidates: vec![]
                }
            );
        }
    }
}
