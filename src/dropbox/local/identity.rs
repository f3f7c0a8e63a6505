//! How a file on disk looks through the Dropbox lens: which names Dropbox would never hold, how
//! app-folder paths are parsed, and the `id`/`rev` a file gets from its inode.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::dropbox::wire::{FileMetadata, FolderMetadata};

/// The Dropbox client's cache folder inside a synced folder, compared lower-cased.
const DROPBOX_CACHE: &str = ".dropbox.cache";
/// Prefixes of office lock files and of our own temporary files.
const IGNORED_PREFIXES: &[&str] = &[".~", "~$"];
/// Partial downloads of the Dropbox client and of other tools.
const IGNORED_SUFFIX: &str = ".tmp";
/// Hex characters of a rev (Dropbox demands at least 9).
const REV_HEX_LEN: usize = 16;
/// Longest name component Dropbox and most Linux file systems accept, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// True for names the scanner must never report (system files, partial writes, lock files).
pub fn is_ignored_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    crate::dropbox::system_files::is_never_stored(&lower)
        || lower == DROPBOX_CACHE
        || IGNORED_PREFIXES
            .iter()
            .any(|prefix| lower.starts_with(prefix))
        || lower.ends_with(IGNORED_SUFFIX)
}

/// A name that is not valid UTF-8 as text, for the journal, the error log and the report: text
/// stays as it is; every byte of an invalid sequence, of a control character and of `\` itself
/// becomes `\xNN` (upper-case hex). So each backslash in the result starts an escape, the result
/// is one line, the same bytes always give the same text, and the text gives back exactly the
/// bytes on disk.
pub fn escape_name(bytes: &[u8]) -> String {
    fn push_escaped(out: &mut String, bytes: &[u8]) {
        for byte in bytes {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch == '\\' || ch.is_control() {
                push_escaped(&mut out, ch.encode_utf8(&mut [0; 4]).as_bytes());
            } else {
                out.push(ch);
            }
        }
        push_escaped(&mut out, chunk.invalid());
    }
    out
}

/// A parsed read or write path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `""` (the root) or `/a/b`: the components, not yet matched against the disk.
    Path(Vec<String>),
    /// `id:…`
    Id(String),
    /// `rev:…`
    Rev(String),
}

/// Why a path was refused before touching the disk.
#[derive(Debug, PartialEq, Eq)]
pub struct MalformedPath(pub String);

/// Parses an app-folder path. `..`, `.`, empty components, NUL and over-long names are refused:
/// nothing may name a place outside the root.
pub fn parse_target(path: &str) -> Result<Target, MalformedPath> {
    if let Some(id) = path.strip_prefix("id:") {
        return Ok(Target::Id(format!("id:{id}")));
    }
    if let Some(rev) = path.strip_prefix("rev:") {
        return Ok(Target::Rev(rev.to_ascii_lowercase()));
    }
    if path.is_empty() {
        return Ok(Target::Path(Vec::new()));
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(MalformedPath(format!("{path:?} does not start with '/'")));
    };
    let mut components = Vec::new();
    for component in rest.split('/') {
        if component.is_empty() || component == "." || component == ".." {
            return Err(MalformedPath(format!(
                "{path:?} has an empty, '.' or '..' component"
            )));
        }
        if component.contains('\0') || component.len() > MAX_NAME_BYTES {
            return Err(MalformedPath(format!(
                "{path:?} has a name with NUL or over {MAX_NAME_BYTES} bytes"
            )));
        }
        components.push(component.to_owned());
    }
    Ok(Target::Path(components))
}

/// `/a/b` from components; `""` for the root.
pub fn join_path(components: &[String]) -> String {
    components
        .iter()
        .map(|component| format!("/{component}"))
        .collect()
}

/// Stable across renames inside one file system: the inode.
pub fn id_of(stat: &libc::stat) -> String {
    format!("id:local-{:x}-{:x}", stat.st_dev, stat.st_ino)
}

/// Changes whenever the content can have changed: inode, size or modification time.
pub fn rev_of(stat: &libc::stat) -> String {
    let mut hasher = Sha256::new();
    for part in [stat.st_dev, stat.st_ino, stat.st_size as u64] {
        hasher.update(part.to_le_bytes());
    }
    hasher.update(stat.st_mtime.to_le_bytes());
    hasher.update(stat.st_mtime_nsec.to_le_bytes());
    let digest = hasher.finalize();
    digest
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()[..REV_HEX_LEN]
        .to_owned()
}

pub fn mtime_of(stat: &libc::stat) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(stat.st_mtime).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Seconds and nanoseconds of the last inode change. Unlike the mtime, no program can set it:
/// every write, truncate, chmod, utime or rename moves it to "now".
pub fn ctime_of(stat: &libc::stat) -> (i64, i64) {
    (stat.st_ctime, stat.st_ctime_nsec)
}

/// `path_display` is the on-disk spelling; `path_lower` its lower-case key.
pub fn file_metadata(display_path: &str, name: &str, stat: &libc::stat) -> FileMetadata {
    let modified = mtime_of(stat);
    FileMetadata {
        name: name.to_owned(),
        id: id_of(stat),
        path_lower: Some(display_path.to_lowercase()),
        path_display: Some(display_path.to_owned()),
        rev: rev_of(stat),
        size: stat.st_size as u64,
        client_modified: modified,
        server_modified: modified,
        content_hash: None,
        is_downloadable: true,
        escaped_name: false,
    }
}

pub fn folder_metadata(display_path: &str, name: &str, stat: &libc::stat) -> FolderMetadata {
    FolderMetadata {
        name: name.to_owned(),
        id: id_of(stat),
        path_lower: Some(display_path.to_lowercase()),
        path_display: Some(display_path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_system_lock_and_partial_files_in_any_case() {
        for name in [
            "Desktop.ini",
            "THUMBS.DB",
            ".DS_Store",
            "Icon\r",
            ".dropbox",
            ".dropbox.attr",
            "~$report.docx",
            ".~lock.a.odt#",
            "photo.jpg.TMP",
        ] {
            assert!(is_ignored_name(name), "{name:?} should be ignored");
        }
        for name in ["photo.jpg", "Icon", "tmp.jpg", "dropbox.txt", " .ds_store"] {
            assert!(!is_ignored_name(name), "{name:?} should be listed");
        }
    }

    #[test]
    fn escaped_names_show_each_byte_that_is_not_text_and_decode_back() {
        assert_eq!(escape_name(b"caf\xe9.jpg"), "caf\\xE9.jpg");
        assert_eq!(escape_name("café\\b\n".as_bytes()), "café\\x5Cb\\x0A");
        assert_eq!(escape_name(b"\xff\xfe"), "\\xFF\\xFE");
        // Unambiguous: a literal `\xE9` (valid text) and the byte 0xE9 escape differently.
        assert_ne!(escape_name(b"caf\\xE9"), escape_name(b"caf\xe9"));
        for bytes in [&b"caf\xe9.jpg"[..], b"a\\b\xc3", "日本\u{7}".as_bytes()] {
            assert_eq!(unescape(&escape_name(bytes)), bytes);
        }
    }

    /// The inverse of `escape_name`, to show that nothing is lost.
    fn unescape(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find('\\') {
            out.extend_from_slice(&rest.as_bytes()[..at]);
            out.push(u8::from_str_radix(&rest[at + 2..at + 4], 16).unwrap());
            rest = &rest[at + 4..];
        }
        out.extend_from_slice(rest.as_bytes());
        out
    }

    #[test]
    fn refuses_paths_that_could_leave_the_root() {
        for path in ["/a/../b", "/..", "/./a", "a/b", "//a", "/a/", "/a\0b"] {
            assert!(parse_target(path).is_err(), "{path:?} should be refused");
        }
        assert_eq!(parse_target(""), Ok(Target::Path(vec![])));
        assert_eq!(
            parse_target("/A b/ c "),
            Ok(Target::Path(vec!["A b".into(), " c ".into()]))
        );
        assert_eq!(
            parse_target("rev:ABCDEF0123"),
            Ok(Target::Rev("abcdef0123".into()))
        );
    }
}
