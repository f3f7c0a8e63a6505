//! File-format detection (magic bytes first, extension as a tie-break) and the single table of
//! supported and unsupported formats.

use serde::{Deserialize, Serialize};

/// The asset categories Smartimage accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Image,
    Video,
    Audio,
    Document,
    Design,
}

impl FileKind {
    pub const ALL: [FileKind; 5] = [
        FileKind::Image,
        FileKind::Video,
        FileKind::Audio,
        FileKind::Document,
        FileKind::Design,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Image => "image",
            FileKind::Video => "video",
            FileKind::Audio => "audio",
            FileKind::Document => "document",
            FileKind::Design => "design",
        }
    }

    pub fn parse(s: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// What detection decided about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Short human name of the format, e.g. "JPEG image", "Windows executable".
    pub format: String,
    /// Media type, e.g. "image/jpeg"; `application/octet-stream` when unknown.
    pub mime: String,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Supported(FileKind),
    /// Not accepted; `category` says why in a few words ("executable", "archive", "unknown binary").
    Unsupported { category: String },
}

impl Detection {
    pub fn kind(&self) -> Option<FileKind> {
        match self.verdict {
            Verdict::Supported(kind) => Some(kind),
            Verdict::Unsupported { .. } => None,
        }
    }
    pub fn is_video(&self) -> bool {
        self.kind() == Some(FileKind::Video)
    }
}

/// Decide from the name alone (before any byte is downloaded).
pub fn detect_by_name(name: &str) -> Detection {
    let _ = name;
    todo!("formats helper")
}

/// Decide from content (magic bytes, container readers), the name only as a tie-break.
pub fn detect_bytes(bytes: &[u8], name: &str) -> Detection {
    let _ = (bytes, name);
    todo!("formats helper")
}

/// Decide from a file on disk (reads only what detection needs).
pub fn detect_file(path: &std::path::Path, name: &str) -> std::io::Result<Detection> {
    let _ = (path, name);
    todo!("formats helper")
}
