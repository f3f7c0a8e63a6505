//! File-format detection for files dropped into Dropbox: the content decides (magic bytes and the
//! `file-format` container readers), the extension only breaks ties inside a container family.
//! [`FORMAT_TABLE`] is the one list of what Smartimage accepts, as which kind, and what it refuses.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use file_format::{FileFormat, Kind as ContentKind};
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
        FileKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
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
    Unsupported {
        category: String,
    },
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

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// Categories of [`Verdict::Unsupported`]; the error report groups refused files by them.
pub const CATEGORY_EXECUTABLE: &str = "executable";
pub const CATEGORY_SCRIPT: &str = "script";
pub const CATEGORY_WEB_PAGE: &str = "web page";
/// A private key or an access secret: in the library it would reach everyone the files are
/// shared with.
pub const CATEGORY_CREDENTIALS: &str = "private key or credentials";
pub const CATEGORY_ARCHIVE: &str = "archive";
pub const CATEGORY_DISK_IMAGE: &str = "disk image";
/// A format we recognise but do not accept (an icon, a database, a 3D model, …).
pub const CATEGORY_UNLISTED_FORMAT: &str = "other format";
pub const CATEGORY_UNKNOWN_BINARY: &str = "unknown binary";
/// Text content behind the name of a binary format (`notes` renamed `photo.jpg`).
pub const CATEGORY_MISMATCH: &str = "content does not match its extension";
/// Text under no extension, or one the table does not list (`notes`, `config.json`).
pub const CATEGORY_TEXT_WITHOUT_TEXT_NAME: &str = "text without a .txt, .csv or .md extension";
pub const CATEGORY_EMPTY: &str = "empty file";
/// Only [`detect_by_name`] says this: the extension is not in the table (or there is none).
pub const CATEGORY_UNKNOWN_TYPE: &str = "unknown file type";

/// Whether a row is accepted, and as which kind, or refused, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    Supported(FileKind),
    Unsupported(&'static str),
}

/// Formats that share one container or encoding, so that content alone cannot always name the
/// member; inside a family (and only there) the extension picks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// TIFF and the camera RAW formats built on it.
    Tiff,
    /// HEIC and other HEIF images.
    Heif,
    /// ISO-BMFF and QuickTime files that carry video.
    IsoVideo,
    /// PDF, and modern Illustrator files, which are PDFs.
    Pdf,
    /// PostScript: EPS and legacy Illustrator files.
    PostScript,
    /// Compound File Binary: the pre-2007 Office formats.
    CompoundFile,
    /// ZIP packages with `[Content_Types].xml`: the Office Open XML formats.
    OfficeOpenXml,
    /// Plain text; the extension says whether it is a table, Markdown or just text.
    PlainText,
}

/// One row of [`FORMAT_TABLE`].
#[derive(Debug, PartialEq, Eq)]
pub struct FormatRow {
    /// Short human name, used in error reports ("JPEG image").
    pub name: &'static str,
    pub support: Support,
    /// Lower-case extensions without the dot; empty for rows only content can reach.
    pub extensions: &'static [&'static str],
    pub mime: &'static str,
    /// Container families in which the extension may choose this row.
    pub families: &'static [Family],
}

impl FormatRow {
    pub fn verdict(&self) -> Verdict {
        match self.support {
            Support::Supported(kind) => Verdict::Supported(kind),
            Support::Unsupported(category) => Verdict::Unsupported {
                category: category.to_string(),
            },
        }
    }

    pub fn detection(&self) -> Detection {
        Detection {
            format: self.name.to_string(),
            mime: self.mime.to_string(),
            verdict: self.verdict(),
        }
    }
}

const IMAGE: Support = Support::Supported(FileKind::Image);
const VIDEO: Support = Support::Supported(FileKind::Video);
const AUDIO: Support = Support::Supported(FileKind::Audio);
const DOCUMENT: Support = Support::Supported(FileKind::Document);
const DESIGN: Support = Support::Supported(FileKind::Design);
const EXECUTABLE: Support = Support::Unsupported(CATEGORY_EXECUTABLE);
const SCRIPT: Support = Support::Unsupported(CATEGORY_SCRIPT);
const ARCHIVE: Support = Support::Unsupported(CATEGORY_ARCHIVE);
const DISK_IMAGE: Support = Support::Unsupported(CATEGORY_DISK_IMAGE);
const CREDENTIALS: Support = Support::Unsupported(CATEGORY_CREDENTIALS);

const SOLO: &[Family] = &[];
const OCTET_STREAM: &str = "application/octet-stream";

const fn row(
    name: &'static str,
    support: Support,
    mime: &'static str,
    extensions: &'static [&'static str],
    families: &'static [Family],
) -> FormatRow {
    FormatRow {
        name,
        support,
        extensions,
        mime,
        families,
    }
}

/// The rows, one a line so the table reads as a table (rustfmt would give each seven lines).
#[rustfmt::skip]
mod rows;
use rows::*;

const ODF_TEXT: &str = "application/vnd.oasis.opendocument.text";
const ODF_SPREADSHEET: &str = "application/vnd.oasis.opendocument.spreadsheet";
const ODF_PRESENTATION: &str = "application/vnd.oasis.opendocument.presentation";
const DOCX_MIME: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX_MIME: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

/// Every format Smartimage knows, supported kinds first; the single source of truth for
/// detection, for admission by name and for the README table.
#[rustfmt::skip]
pub static FORMAT_TABLE: &[&FormatRow] = &[
    &JPEG, &PNG, &GIF, &WEBP, &TIFF, &BMP, &HEIC, &HEIF, &AVIF, &SVG, &PSD, &JPEG_XL,
    &CR2, &CR3, &NEF, &ARW, &DNG, &ORF, &RW2, &RAF, &PEF, &SRW,
    &MP4, &MOV, &M4V, &AVI, &MKV, &WEBM, &MPEG, &THREE_GP, &WMV, &FLV, &MPEG_TS,
    &MP3, &WAV, &AAC, &M4A, &FLAC, &OGG, &AIFF,
    &PDF, &DOC, &DOCX, &XLS, &XLSX, &PPT, &PPTX, &ODT, &ODS, &ODP, &PLAIN_TEXT, &CSV, &RTF, &MARKDOWN,
    &AI, &EPS, &INDD, &SKETCH, &TTF, &OTF, &WOFF, &WOFF2,
    &WINDOWS_EXECUTABLE, &WINDOWS_INSTALLER, &ELF, &MACH_O, &JAVA, &APP_PACKAGE, &OTHER_EXECUTABLE,
    &SHELL_SCRIPT, &BATCH_SCRIPT, &POWERSHELL_SCRIPT, &WINDOWS_SCRIPT_HOST, &PHP_SCRIPT, &JAVASCRIPT,
    &PYTHON_SCRIPT, &PERL_SCRIPT, &RUBY_SCRIPT, &LUA_SCRIPT, &TCL_SCRIPT, &AWK_SCRIPT, &APPLESCRIPT,
    &HTML_APPLICATION, &DESKTOP_LAUNCHER, &SHEBANG_SCRIPT,
    &WEB_PAGE,
    &PEM_PRIVATE_KEY, &SSH_PRIVATE_KEY, &PUTTY_PRIVATE_KEY, &PGP_PRIVATE_KEY, &AWS_CREDENTIALS,
    &ZIP, &RAR, &SEVEN_ZIP, &TAR, &GZIP, &BZIP2, &XZ, &OTHER_ARCHIVE,
    &ISO_IMAGE, &DMG, &VIRTUAL_DISK, &OTHER_DISK_IMAGE,
    &UNLISTED_FORMAT, &UNKNOWN_BINARY, &EMPTY,
];

/// The table row an extension (without the dot, any case) names, if any.
pub fn row_for_extension(extension: &str) -> Option<&'static FormatRow> {
    let extension = extension.to_ascii_lowercase();
    FORMAT_TABLE
        .iter()
        .copied()
        .find(|row| row.extensions.contains(&extension.as_str()))
}

/// The table as Markdown (`Kind | Formats | Extensions`) for the README: supported kinds in
/// [`FileKind::ALL`] order, then the refused categories in table order.
pub fn support_table_markdown() -> String {
    let mut out = String::from("| Kind | Formats | Extensions |\n|---|---|---|\n");
    for kind in FileKind::ALL {
        let label = capitalised(kind.as_str());
        for row in FORMAT_TABLE
            .iter()
            .filter(|row| row.support == Support::Supported(kind))
        {
            out.push_str(&markdown_line(&label, row));
        }
    }
    let mut categories: Vec<&str> = Vec::new();
    for row in FORMAT_TABLE {
        if let Support::Unsupported(category) = row.support
            && !categories.contains(&category)
        {
            categories.push(category);
        }
    }
    for category in categories {
        let label = format!("Not supported: {category}");
        for row in FORMAT_TABLE
            .iter()
            .filter(|row| row.support == Support::Unsupported(category))
        {
            out.push_str(&markdown_line(&label, row));
        }
    }
    out
}

fn markdown_line(label: &str, row: &FormatRow) -> String {
    let extensions = if row.extensions.is_empty() {
        "(recognised by content)".to_string()
    } else {
        row.extensions
            .iter()
            .map(|ext| format!(".{ext}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!("| {label} | {} | {extensions} |\n", row.name)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// First words of our row names that are ordinary nouns, lower-cased inside a sentence ("an
/// empty file", "a shell script"); other names start with a proper name or an acronym.
const COMMON_FIRST_WORDS: &[&str] = &[
    "Empty", "Unknown", "Plain", "Shell", "Script", "Web", "App", "Virtual",
];
/// Names that read as mass nouns and take no article ("unknown binary data").
const MASS_NOUN_STARTS: &[&str] = &["plain text", "unknown binary data"];
/// Initials whose spoken name starts with a vowel sound: "an MP4 video", "an XZ archive".
const VOWEL_SOUNDING_INITIALS: &str = "AEFHILMNORSX8";
/// Acronyms said as words, so the word's sound picks the article: "a RAR archive".
const ACRONYMS_SAID_AS_WORDS: &[&str] = &["HEIC", "HEIF", "FLAC", "RAR"];
/// Vowel-letter starts said with a consonant: "a Universal 3D model".
const CONSONANT_SOUNDING_STARTS: &[&str] = &["uni", "eu"];

/// A format's name as it reads inside a sentence, article included: "a Windows executable",
/// "an MP4 video", "an empty file", "unknown binary data". Names come from the table and from
/// the `file-format` crate, so the article cannot be written down beside each.
pub fn format_in_sentence(format: &str) -> String {
    let first_word = format.split([' ', '-']).next().unwrap_or_default();
    let phrase = if COMMON_FIRST_WORDS.contains(&first_word) {
        let mut chars = format.chars();
        chars
            .next()
            .map(|first| first.to_lowercase().chain(chars).collect())
            .unwrap_or_default()
    } else {
        format.to_owned()
    };
    if MASS_NOUN_STARTS
        .iter()
        .any(|start| phrase.starts_with(start))
    {
        return phrase;
    }
    let is_acronym = first_word.len() > 1
        && first_word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let lower = phrase.to_lowercase();
    let vowel_sound = if is_acronym && !ACRONYMS_SAID_AS_WORDS.contains(&first_word) {
        first_word.starts_with(|c| VOWEL_SOUNDING_INITIALS.contains(c))
    } else {
        lower.starts_with(['a', 'e', 'i', 'o', 'u', '8'])
            && !CONSONANT_SOUNDING_STARTS
                .iter()
                .any(|start| lower.starts_with(start))
    };
    let article = if vowel_sound { "an" } else { "a" };
    format!("{article} {phrase}")
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

/// Bytes read from the start of a file for our own checks (text, markup root, ISO-BMFF brands,
/// ZIP entry names, shebang).
const HEAD_LEN: usize = 64 * 1024;
/// Most bytes the `file-format` container readers may pull from one file. Past it they give up
/// and the head's signature decides; keeps a 1 GiB video to a handful of reads and stops the
/// PDF reader scanning 32 MiB for an Illustrator marker we do not need.
const DEEP_READ_BUDGET: u64 = 4 * 1024 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16_LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16_BE_BOM: &[u8] = b"\xFE\xFF";
const SHEBANG: &[u8] = b"#!";
const DOS_EXECUTABLE_MAGIC: &[u8] = b"MZ";
const ZIP_LOCAL_HEADER_MAGIC: &[u8] = b"PK\x03\x04";
const COMPOUND_FILE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const EBML_MAGIC: &[u8] = b"\x1A\x45\xDF\xA3";
const PDF_MAGIC: &[u8] = b"%PDF-";

/// Decide from the name alone (before any byte is downloaded).
pub fn detect_by_name(name: &str) -> Detection {
    let extension = extension_of(name);
    if let Some(row) = extension.as_deref().and_then(row_for_extension) {
        return row.detection();
    }
    let (format, mime) = match &extension {
        Some(ext) => (
            format!("{} file", ext.to_ascii_uppercase()),
            mime_guess::from_ext(ext)
                .first_raw()
                .unwrap_or(OCTET_STREAM),
        ),
        None => ("File without an extension".to_string(), OCTET_STREAM),
    };
    Detection {
        format,
        mime: mime.to_string(),
        verdict: Verdict::Unsupported {
            category: CATEGORY_UNKNOWN_TYPE.to_string(),
        },
    }
}

/// Decide from content (magic bytes, container readers), the name only as a tie-break.
pub fn detect_bytes(bytes: &[u8], name: &str) -> Detection {
    // Reading memory cannot fail; should it ever, refusing the file is the safe answer.
    detect_reader(Cursor::new(bytes), name).unwrap_or_else(|_| UNKNOWN_BINARY.detection())
}

/// Decide from a file on disk (reads only what detection needs).
pub fn detect_file(path: &Path, name: &str) -> io::Result<Detection> {
    detect_reader(File::open(path)?, name)
}

/// Decide from any seekable stream, read from its start: the head, then whatever the container
/// readers need within a fixed read budget. `detect_bytes` and `detect_file` both come here.
pub fn detect_reader<R: Read + Seek>(mut reader: R, name: &str) -> io::Result<Detection> {
    reader.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&mut reader).take(HEAD_LEN as u64).read_to_end(&mut head)?;
    if head.is_empty() {
        return Ok(EMPTY.detection());
    }
    reader.seek(SeekFrom::Start(0))?;
    let content = FileFormat::from_reader(ReadBudget {
        inner: &mut reader,
        remaining: DEEP_READ_BUDGET,
    })?;
    Ok(classify(content, &head, extension_of(name).as_deref()))
}

/// Lower-case extension of the last path component; none for dotfiles (".bashrc") and names
/// ending in a dot.
fn extension_of(name: &str) -> Option<String> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let dot = base.rfind('.')?;
    let extension = &base[dot + 1..];
    (dot > 0 && !extension.is_empty()).then(|| extension.to_ascii_lowercase())
}

/// Caps what the container readers may read. A spent budget is an error, not an end of file,
/// so a reader gives up instead of taking the cut for the real end.
struct ReadBudget<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ReadBudget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 && !buf.is_empty() {
            return Err(io::Error::other("format detection read budget spent"));
        }
        let allowed = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..allowed])?;
        self.remaining = self.remaining.saturating_sub(read as u64);
        Ok(read)
    }
}

impl<R: Seek> Seek for ReadBudget<R> {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        self.inner.seek(position)
    }
}

/// What the content says before the extension has had its say.
enum Outcome {
    Row(&'static FormatRow),
    /// A generic member of a family: an extension naming a member picks it, else `otherwise`,
    /// else the content's own name under [`CATEGORY_UNLISTED_FORMAT`].
    Family {
        family: Family,
        otherwise: Option<&'static FormatRow>,
    },
    /// Text or markup: the root element, scripts and the extension decide.
    Text,
    /// Recognised but not listed: named by the content, refused under the catch-all's category.
    Unlisted(&'static FormatRow),
}

fn classify(content: FileFormat, head: &[u8], extension: Option<&str>) -> Detection {
    let is_text = looks_like_text(head);
    // The container readers give up on cut-short or over-budget files; fall back to the head.
    let content = match content {
        FileFormat::ArbitraryBinaryData => recognise_by_signature(head, is_text),
        other => other,
    };
    // A secret or a script stays one whatever it is called; `#!AMR` is audio, not an
    // interpreter line.
    let secret = is_text.then(|| credentials_row(head)).flatten();
    let outcome = if let Some(row) = secret {
        Outcome::Row(row)
    } else if strip_utf8_bom(head).starts_with(SHEBANG) && content != FileFormat::AdaptiveMultiRate
    {
        Outcome::Row(script_row(content, extension))
    } else {
        content_outcome(content, head, is_text)
    };
    match outcome {
        Outcome::Row(row) => row.detection(),
        Outcome::Family { family, otherwise } => {
            let member = extension
                .and_then(row_for_extension)
                .filter(|row| row.families.contains(&family));
            match member.or(otherwise) {
                Some(row) => row.detection(),
                None => named_by_content(content, &UNLISTED_FORMAT),
            }
        }
        Outcome::Text => text_detection(head, extension),
        Outcome::Unlisted(catch_all) => named_by_content(content, catch_all),
    }
}

fn named_by_content(content: FileFormat, catch_all: &FormatRow) -> Detection {
    Detection {
        format: content.name().to_string(),
        mime: content.media_type().to_string(),
        verdict: catch_all.verdict(),
    }
}

/// Signatures of the families whose container reader may have given up on this file.
fn recognise_by_signature(head: &[u8], is_text: bool) -> FileFormat {
    if ftyp_brands(head).is_some() {
        FileFormat::Mpeg4Part14
    } else if head.starts_with(ZIP_LOCAL_HEADER_MAGIC) {
        FileFormat::Zip
    } else if head.starts_with(COMPOUND_FILE_MAGIC) {
        FileFormat::CompoundFileBinary
    } else if head.starts_with(EBML_MAGIC) {
        FileFormat::ExtensibleBinaryMetaLanguage
    } else if head.starts_with(PDF_MAGIC) {
        FileFormat::PortableDocumentFormat
    } else if head.starts_with(DOS_EXECUTABLE_MAGIC) && !is_text {
        FileFormat::MsDosExecutable
    } else {
        FileFormat::ArbitraryBinaryData
    }
}

fn script_row(content: FileFormat, extension: Option<&str>) -> &'static FormatRow {
    match content {
        FileFormat::ShellScript => &SHELL_SCRIPT,
        FileFormat::PythonScript => &PYTHON_SCRIPT,
        _ => extension
            .and_then(row_for_extension)
            .filter(|row| row.support == SCRIPT)
            .unwrap_or(&SHEBANG_SCRIPT),
    }
}

fn content_outcome(content: FileFormat, head: &[u8], is_text: bool) -> Outcome {
    use FileFormat as F;
    use Outcome::Row;
    match content {
        F::Empty => Row(&EMPTY),
        // Images.
        F::JointPhotographicExpertsGroup => Row(&JPEG),
        F::PortableNetworkGraphics | F::AnimatedPortableNetworkGraphics => Row(&PNG),
        F::GraphicsInterchangeFormat => Row(&GIF),
        F::Webp => Row(&WEBP),
        F::WindowsBitmap => Row(&BMP),
        F::TagImageFileFormat => Outcome::Family {
            family: Family::Tiff,
            otherwise: Some(&TIFF),
        },
        F::CanonRaw2 => Row(&CR2),
        F::CanonRaw3 => Row(&CR3),
        F::NikonElectronicFile => Row(&NEF),
        F::SonyAlphaRaw => Row(&ARW),
        F::OlympusRawFormat => Row(&ORF),
        F::PanasonicRaw => Row(&RW2),
        F::FujifilmRaw => Row(&RAF),
        F::Av1ImageFileFormat | F::Av1ImageFileFormatSequence => Row(&AVIF),
        F::AdobePhotoshopDocument => Row(&PSD),
        F::JpegXl => Row(&JPEG_XL),
        // ISO-BMFF and QuickTime: the brands and tracks decide.
        F::Mpeg4Part14
        | F::Mpeg4Part14Video
        | F::Mpeg4Part14Audio
        | F::Mpeg4Part14Subtitles
        | F::AppleQuicktime
        | F::AppleItunesVideo
        | F::AppleItunesAudio
        | F::AppleItunesAudiobook
        | F::AppleItunesProtectedAudio
        | F::FlashMp4Video
        | F::FlashMp4Audio
        | F::FlashMp4Audiobook
        | F::SonyMovie
        | F::ThirdGenerationPartnershipProject
        | F::ThirdGenerationPartnershipProject2
        | F::HighEfficiencyImageCoding
        | F::HighEfficiencyImageCodingSequence
        | F::HighEfficiencyImageFileFormat
        | F::HighEfficiencyImageFileFormatSequence => iso_bmff_outcome(content, head),
        // Other video.
        F::AudioVideoInterleave => Row(&AVI),
        F::Webm => Row(&WEBM),
        // A Matroska file without a recognised track counts as video: the plan rules must not
        // be dodged by a file we could not see into.
        F::MatroskaVideo | F::Matroska3dVideo | F::ExtensibleBinaryMetaLanguage => Row(&MKV),
        F::Mpeg12Video => Row(&MPEG),
        F::Mpeg2TransportStream | F::BdavMpeg2TransportStream if !is_text => Row(&MPEG_TS),
        F::AdvancedSystemsFormat | F::WindowsMediaVideo | F::MicrosoftDigitalVideoRecording => {
            Row(&WMV)
        }
        F::FlashVideo => Row(&FLV),
        // Audio.
        F::Mpeg12AudioLayer3 | F::Id3v2 => Row(&MP3),
        F::WaveformAudio => Row(&WAV),
        F::AdvancedAudioCoding => Row(&AAC),
        F::FreeLosslessAudioCodec => Row(&FLAC),
        // A bare `OggS` (a skeleton or video stream first) is refused rather than let a video pass
        // as audio.
        F::OggOpus | F::OggVorbis | F::OggFlac | F::OggSpeex => Row(&OGG),
        F::AudioInterchangeFileFormat => Row(&AIFF),
        // Documents.
        F::PortableDocumentFormat => Outcome::Family {
            family: Family::Pdf,
            otherwise: Some(&PDF),
        },
        F::AdobeIllustratorArtwork => Outcome::Family {
            family: Family::Pdf,
            otherwise: Some(&AI),
        },
        F::MicrosoftWordDocument => Row(&DOC),
        F::MicrosoftExcelSpreadsheet => Row(&XLS),
        F::MicrosoftPowerpointPresentation => Row(&PPT),
        F::CompoundFileBinary => Outcome::Family {
            family: Family::CompoundFile,
            otherwise: None,
        },
        F::OfficeOpenXmlDocument => Row(&DOCX),
        F::OfficeOpenXmlSpreadsheet => Row(&XLSX),
        F::OfficeOpenXmlPresentation => Row(&PPTX),
        F::OpendocumentText => Row(&ODT),
        F::OpendocumentSpreadsheet => Row(&ODS),
        F::OpendocumentPresentation => Row(&ODP),
        F::Zip => zip_outcome(head),
        F::RichTextFormat => Row(&RTF),
        F::PlainText
        | F::ExtensibleMarkupLanguage
        | F::ScalableVectorGraphics
        | F::HypertextMarkupLanguage => Outcome::Text,
        // Design.
        F::EncapsulatedPostscript => Outcome::Family {
            family: Family::PostScript,
            otherwise: Some(&EPS),
        },
        F::Postscript => Outcome::Family {
            family: Family::PostScript,
            otherwise: None,
        },
        F::AdobeIndesignDocument => Row(&INDD),
        F::Sketch | F::Sketch43 => Row(&SKETCH),
        // "true" also starts ordinary text ("true,false" in a CSV).
        F::Truetype if !is_text => Row(&TTF),
        F::TruetypeCollection => Row(&TTF),
        F::Opentype => Row(&OTF),
        F::WebOpenFontFormat => Row(&WOFF),
        F::WebOpenFontFormat2 => Row(&WOFF2),
        // Programs.
        F::PortableExecutable | F::DynamicLinkLibrary | F::NewExecutable | F::LinearExecutable => {
            Row(&WINDOWS_EXECUTABLE)
        }
        // "MZ" alone is a weak signature: plain text may start with it.
        F::MsDosExecutable if !is_text => Row(&WINDOWS_EXECUTABLE),
        F::MicrosoftSoftwareInstaller => Row(&WINDOWS_INSTALLER),
        F::ExecutableAndLinkableFormat | F::Appimage => Row(&ELF),
        F::MachO => Row(&MACH_O),
        F::JavaArchive | F::JavaClass => Row(&JAVA),
        F::AndroidPackage
        | F::AndroidAppBundle
        | F::IosAppStorePackage
        | F::WindowsAppPackage
        | F::WindowsAppBundle => Row(&APP_PACKAGE),
        F::WindowsShortcut => Outcome::Unlisted(&OTHER_EXECUTABLE),
        F::ShellScript => Row(&SHELL_SCRIPT),
        F::PythonScript => Row(&PYTHON_SCRIPT),
        F::MsDosBatch => Row(&BATCH_SCRIPT),
        // Containers.
        F::RoshalArchive => Row(&RAR),
        F::SevenZip => Row(&SEVEN_ZIP),
        F::TapeArchive => Row(&TAR),
        F::Gzip => Row(&GZIP),
        F::Bzip2 => Row(&BZIP2),
        F::Xz => Row(&XZ),
        F::Iso9660 => Row(&ISO_IMAGE),
        F::AppleDiskImage => Row(&DMG),
        F::MicrosoftVirtualHardDisk
        | F::MicrosoftVirtualHardDisk2
        | F::VirtualMachineDisk
        | F::QemuCopyOnWrite
        | F::VirtualboxVirtualDiskImage => Row(&VIRTUAL_DISK),
        F::ArbitraryBinaryData if !is_text => Row(&UNKNOWN_BINARY),
        // Weak signatures that matched text (the guarded arms above took the binary ones).
        F::ArbitraryBinaryData
        | F::MsDosExecutable
        | F::Truetype
        | F::Mpeg2TransportStream
        | F::BdavMpeg2TransportStream => Outcome::Text,
        other => unlisted_outcome(other, is_text),
    }
}

/// A format the table does not list: programs stay refused as programs; anything else that
/// reads as text (a weak signature such as "solid " or "AC10" at the start) is text.
fn unlisted_outcome(content: FileFormat, is_text: bool) -> Outcome {
    match content.kind() {
        ContentKind::Executable | ContentKind::Package => Outcome::Unlisted(&OTHER_EXECUTABLE),
        _ if is_text => Outcome::Text,
        ContentKind::Archive | ContentKind::Compressed => Outcome::Unlisted(&OTHER_ARCHIVE),
        ContentKind::Disk => Outcome::Unlisted(&OTHER_DISK_IMAGE),
        _ => Outcome::Unlisted(&UNLISTED_FORMAT),
    }
}

// ---------------------------------------------------------------------------------------------
// ISO-BMFF (MP4, QuickTime, HEIF, AVIF, CR3)
// ---------------------------------------------------------------------------------------------

const BOX_SIZE_LEN: usize = 4;
const FTYP_BOX_TYPE: &[u8] = b"ftyp";
const MAJOR_BRAND_OFFSET: usize = 8;
const COMPATIBLE_BRANDS_OFFSET: usize = 16;
const BRAND_LEN: usize = 4;
type Brand = [u8; BRAND_LEN];

const AVIF_BRANDS: &[Brand] = &[*b"avif", *b"avis"];
const HEIC_BRANDS: &[Brand] = &[
    *b"heic", *b"heix", *b"heim", *b"heis", *b"hevc", *b"hevx", *b"hevm", *b"hevs",
];
const HEIF_BRANDS: &[Brand] = &[*b"mif1", *b"msf1"];
const CANON_RAW_BRAND: Brand = *b"crx ";
const AUDIO_BRANDS: &[Brand] = &[*b"M4A ", *b"M4B ", *b"M4P ", *b"F4A ", *b"F4B "];
const M4V_BRANDS: &[Brand] = &[*b"M4V ", *b"M4VH", *b"M4VP"];
const QUICKTIME_BRAND: Brand = *b"qt  ";
const THIRD_GENERATION_BRAND_PREFIX: &[u8] = b"3g";

/// `hdlr` box: the handler type follows the box type, version/flags and `pre_defined`.
const HANDLER_BOX_TYPE: &[u8] = b"hdlr";
const HANDLER_TYPE_FROM_BOX_TYPE: usize = 12;
const VIDEO_HANDLER: &[u8] = b"vide";

/// Major brand and compatible brands of a leading `ftyp` box.
fn ftyp_brands(head: &[u8]) -> Option<(Brand, Vec<Brand>)> {
    if head.get(BOX_SIZE_LEN..MAJOR_BRAND_OFFSET)? != FTYP_BOX_TYPE {
        return None;
    }
    let major: Brand = head
        .get(MAJOR_BRAND_OFFSET..MAJOR_BRAND_OFFSET + BRAND_LEN)?
        .try_into()
        .ok()?;
    let box_len = be_u32(head, 0)
        .map_or(0, |len| len as usize)
        .min(head.len());
    let compatible = head
        .get(COMPATIBLE_BRANDS_OFFSET..box_len)
        .unwrap_or_default()
        .chunks_exact(BRAND_LEN)
        .filter_map(|brand| brand.try_into().ok())
        .collect();
    Some((major, compatible))
}

fn iso_bmff_outcome(content: FileFormat, head: &[u8]) -> Outcome {
    let (major, compatible) = ftyp_brands(head).unwrap_or(([0; BRAND_LEN], Vec::new()));
    let has_brand =
        |set: &[Brand]| set.contains(&major) || compatible.iter().any(|b| set.contains(b));
    let generic_video = |otherwise| Outcome::Family {
        family: Family::IsoVideo,
        otherwise: Some(otherwise),
    };
    if has_brand(AVIF_BRANDS) {
        Outcome::Row(&AVIF)
    } else if HEIC_BRANDS.contains(&major)
        || (HEIF_BRANDS.contains(&major) && has_brand(HEIC_BRANDS))
    {
        Outcome::Family {
            family: Family::Heif,
            otherwise: Some(&HEIC),
        }
    } else if HEIF_BRANDS.contains(&major) {
        Outcome::Family {
            family: Family::Heif,
            otherwise: Some(&HEIF),
        }
    } else if major == CANON_RAW_BRAND {
        Outcome::Row(&CR3)
    } else if AUDIO_BRANDS.contains(&major) {
        // The brand promises audio; a video track in the head overrules it for the plan rules.
        if head_declares_video_track(head) {
            generic_video(&MP4)
        } else {
            Outcome::Row(&M4A)
        }
    } else if M4V_BRANDS.contains(&major) {
        Outcome::Row(&M4V)
    } else if major == QUICKTIME_BRAND {
        Outcome::Row(&MOV)
    } else if major.starts_with(THIRD_GENERATION_BRAND_PREFIX) {
        Outcome::Row(&THREE_GP)
    } else {
        match content {
            FileFormat::Mpeg4Part14Audio => Outcome::Row(&M4A),
            FileFormat::Mpeg4Part14Subtitles => Outcome::Unlisted(&UNLISTED_FORMAT),
            FileFormat::AppleQuicktime => generic_video(&MOV),
            // No track found (or not looked for): count it as video, so that the video rules
            // cannot be dodged by a file we could not see into.
            _ => generic_video(&MP4),
        }
    }
}

fn head_declares_video_track(head: &[u8]) -> bool {
    let handler_type = |at: usize| {
        head.get(at + HANDLER_TYPE_FROM_BOX_TYPE..at + HANDLER_TYPE_FROM_BOX_TYPE + BRAND_LEN)
    };
    head.windows(HANDLER_BOX_TYPE.len())
        .enumerate()
        .any(|(at, window)| window == HANDLER_BOX_TYPE && handler_type(at) == Some(VIDEO_HANDLER))
}

// ---------------------------------------------------------------------------------------------
// ZIP packages
// ---------------------------------------------------------------------------------------------

const ZIP_LOCAL_HEADER_LEN: usize = 30;
const ZIP_FLAGS_OFFSET: usize = 6;
const ZIP_METHOD_OFFSET: usize = 8;
const ZIP_COMPRESSED_SIZE_OFFSET: usize = 18;
const ZIP_NAME_LEN_OFFSET: usize = 26;
const ZIP_EXTRA_LEN_OFFSET: usize = 28;
/// Sizes follow the data in a trailing descriptor, so the next header cannot be found.
const ZIP_FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
const ZIP_METHOD_STORED: u16 = 0;
const ZIP_ENTRY_LIMIT: usize = 64;
const OOXML_CONTENT_TYPES: &[u8] = b"[Content_Types].xml";
const ODF_MIMETYPE_ENTRY: &[u8] = b"mimetype";

struct ZipEntry<'a> {
    name: &'a [u8],
    /// The entry's bytes when stored uncompressed and inside the head.
    stored: Option<&'a [u8]>,
}

/// Entries whose local headers lie in the head, in file order. Works on a cut-short ZIP,
/// where the central directory the `file-format` reader uses is out of reach.
fn zip_entries_in_head(head: &[u8]) -> Vec<ZipEntry<'_>> {
    let mut entries = Vec::new();
    let mut at = 0usize;
    while entries.len() < ZIP_ENTRY_LIMIT
        && head
            .get(at..)
            .is_some_and(|rest| rest.starts_with(ZIP_LOCAL_HEADER_MAGIC))
    {
        let field16 = |offset| le_u16(head, at + offset);
        let (Some(flags), Some(method), Some(name_len), Some(extra_len), Some(compressed)) = (
            field16(ZIP_FLAGS_OFFSET),
            field16(ZIP_METHOD_OFFSET),
            field16(ZIP_NAME_LEN_OFFSET),
            field16(ZIP_EXTRA_LEN_OFFSET),
            le_u32(head, at + ZIP_COMPRESSED_SIZE_OFFSET),
        ) else {
            break;
        };
        let name_start = at + ZIP_LOCAL_HEADER_LEN;
        let data_start = name_start + usize::from(name_len) + usize::from(extra_len);
        let data_end = data_start.saturating_add(compressed as usize);
        let Some(name) = head.get(name_start..name_start + usize::from(name_len)) else {
            break;
        };
        let stored = (method == ZIP_METHOD_STORED)
            .then(|| head.get(data_start..data_end))
            .flatten();
        entries.push(ZipEntry { name, stored });
        if flags & ZIP_FLAG_DATA_DESCRIPTOR != 0 {
            break;
        }
        at = data_end;
    }
    entries
}

/// A ZIP that `file-format` could not name: its entries decide; Office Open XML content types
/// let the extension choose DOCX/XLSX/PPTX; anything else is an archive.
fn zip_outcome(head: &[u8]) -> Outcome {
    let entries = zip_entries_in_head(head);
    for entry in &entries {
        let name = entry.name;
        let row: Option<&'static FormatRow> = if name.starts_with(b"word/") {
            Some(&DOCX)
        } else if name.starts_with(b"xl/") {
            Some(&XLSX)
        } else if name.starts_with(b"ppt/") {
            Some(&PPTX)
        } else if name == b"document.json" {
            Some(&SKETCH)
        } else if name == b"META-INF/MANIFEST.MF" {
            Some(&JAVA)
        } else if name == b"AndroidManifest.xml" {
            Some(&APP_PACKAGE)
        } else if name == ODF_MIMETYPE_ENTRY {
            match entry.stored.map(<[u8]>::trim_ascii) {
                Some(media_type) if media_type == ODF_TEXT.as_bytes() => Some(&ODT),
                Some(media_type) if media_type == ODF_SPREADSHEET.as_bytes() => Some(&ODS),
                Some(media_type) if media_type == ODF_PRESENTATION.as_bytes() => Some(&ODP),
                _ => None,
            }
        } else {
            None
        };
        if let Some(row) = row {
            return Outcome::Row(row);
        }
    }
    if entries
        .iter()
        .any(|entry| entry.name == OOXML_CONTENT_TYPES)
    {
        Outcome::Family {
            family: Family::OfficeOpenXml,
            otherwise: Some(&ZIP),
        }
    } else {
        Outcome::Row(&ZIP)
    }
}

// ---------------------------------------------------------------------------------------------
// Text and markup
// ---------------------------------------------------------------------------------------------

/// Root elements that make a markup file a web page.
const WEB_PAGE_ROOTS: &[&[u8]] = &[b"html", b"head", b"body", b"script"];
const SVG_ROOT: &[u8] = b"svg";
const SVG_PREFIXED_ROOT: &[u8] = b":svg";
const PHP_OPEN_TAG: &[u8] = b"<?php";
const PHP_ECHO_TAG: &[u8] = b"<?=";
const DOCTYPE_OPEN: &[u8] = b"<!doctype";

/// Plain text is a document only under a text name (.txt, .csv, .md). Wearing the name of a
/// binary format (an image, a video, a PDF…) it is not what its name promises; under no
/// extension or an unlisted one it is more often a config file, a dump or a secret than a
/// document — and admission by name refuses those names too.
fn text_detection(head: &[u8], extension: Option<&str>) -> Detection {
    let row = text_row(head, extension);
    if !std::ptr::eq(row, &PLAIN_TEXT) {
        return row.detection();
    }
    let (format, category) = match (extension, extension.and_then(row_for_extension)) {
        (_, Some(named)) if named.families.contains(&Family::PlainText) => {
            return row.detection();
        }
        (Some(extension), Some(_)) => (
            format!("Plain text with a .{extension} name"),
            CATEGORY_MISMATCH,
        ),
        (Some(extension), None) => (
            format!("Plain text with a .{extension} name"),
            CATEGORY_TEXT_WITHOUT_TEXT_NAME,
        ),
        (None, _) => (
            "Plain text without an extension".to_owned(),
            CATEGORY_TEXT_WITHOUT_TEXT_NAME,
        ),
    };
    Detection {
        format,
        mime: row.mime.to_owned(),
        verdict: Verdict::Unsupported {
            category: category.to_owned(),
        },
    }
}

/// Lines that make text a secret: the armour of a private key (PEM, OpenSSH, SSH2, PGP),
/// PuTTY's key header, an AWS secret key setting. Looked for on any line of the head, not just
/// the first: a key pasted into notes leaks as surely as a key file.
const ARMOUR_BEGIN: &[u8] = b"-----BEGIN ";
const PRIVATE_KEY_ARMOUR_END: &[u8] = b"PRIVATE KEY-----";
const OPENSSH_KEY_LABEL: &[u8] = b"OPENSSH ";
const SSH2_PRIVATE_KEY_BEGIN: &[u8] = b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----";
const PGP_PRIVATE_KEY_BEGIN: &[u8] = b"-----BEGIN PGP PRIVATE KEY BLOCK-----";
const PUTTY_KEY_HEADER: &[u8] = b"PuTTY-User-Key-File-";
const AWS_SECRET_KEY_SETTING: &[u8] = b"aws_secret_access_key";

/// The credentials row a text head reveals, if any.
fn credentials_row(head: &[u8]) -> Option<&'static FormatRow> {
    strip_utf8_bom(head)
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find_map(|line| {
            if let Some(label) = line
                .strip_prefix(ARMOUR_BEGIN)
                .and_then(|rest| rest.strip_suffix(PRIVATE_KEY_ARMOUR_END))
            {
                // "", "RSA ", "EC ", "DSA ", "ENCRYPTED ", … are PEM; "OPENSSH " is not.
                Some(if label == OPENSSH_KEY_LABEL {
                    &SSH_PRIVATE_KEY
                } else {
                    &PEM_PRIVATE_KEY
                })
            } else if line == SSH2_PRIVATE_KEY_BEGIN {
                Some(&SSH_PRIVATE_KEY)
            } else if line == PGP_PRIVATE_KEY_BEGIN {
                Some(&PGP_PRIVATE_KEY)
            } else if line.starts_with(PUTTY_KEY_HEADER) {
                Some(&PUTTY_PRIVATE_KEY)
            } else if sets_a_value(line, AWS_SECRET_KEY_SETTING) {
                Some(&AWS_CREDENTIALS)
            } else {
                None
            }
        })
}

/// `name = value` (any case, spaces optional) with a value: a template's empty setting is no
/// secret.
fn sets_a_value(line: &[u8], name: &[u8]) -> bool {
    starts_with_ignore_case(line, name)
        && line[name.len()..]
            .trim_ascii_start()
            .strip_prefix(b"=")
            .is_some_and(|value| !value.trim_ascii().is_empty())
}

/// Text decides by its start (PHP, a web page, an SVG root) and otherwise by the extension:
/// unsafe readings first, so a page named `.txt` or a script named `.js` is still refused.
fn text_row(head: &[u8], extension: Option<&str>) -> &'static FormatRow {
    let by_extension = extension.and_then(row_for_extension);
    let root = markup_root(head);
    if root == Some(MarkupRoot::Php) {
        return &PHP_SCRIPT;
    }
    if root == Some(MarkupRoot::WebPage) {
        return &WEB_PAGE;
    }
    if let Some(row) =
        by_extension.filter(|row| row.support == SCRIPT || row.support == WEB_PAGE.support)
    {
        return row;
    }
    if root == Some(MarkupRoot::Svg) {
        return &SVG;
    }
    by_extension
        .filter(|row| row.families.contains(&Family::PlainText))
        .unwrap_or(&PLAIN_TEXT)
}

#[derive(Debug, PartialEq, Eq)]
enum MarkupRoot {
    Php,
    WebPage,
    Svg,
    Other,
}

/// The first element of a markup file, past the XML declaration, comments and a doctype
/// (whose name is the root's).
fn markup_root(head: &[u8]) -> Option<MarkupRoot> {
    let mut rest = strip_utf8_bom(head);
    loop {
        rest = rest.trim_ascii_start();
        if starts_with_ignore_case(rest, PHP_OPEN_TAG) || rest.starts_with(PHP_ECHO_TAG) {
            return Some(MarkupRoot::Php);
        } else if rest.starts_with(b"<?") {
            rest = after(rest, b"?>")?;
        } else if rest.starts_with(b"<!--") {
            rest = after(rest, b"-->")?;
        } else if starts_with_ignore_case(rest, DOCTYPE_OPEN) {
            return Some(root_named(element_name(
                rest[DOCTYPE_OPEN.len()..].trim_ascii_start(),
            )));
        } else if let Some(tag) = rest.strip_prefix(b"<") {
            return Some(root_named(element_name(tag)));
        } else {
            return None;
        }
    }
}

fn root_named(name: &[u8]) -> MarkupRoot {
    let name = name.to_ascii_lowercase();
    if WEB_PAGE_ROOTS.contains(&name.as_slice()) {
        MarkupRoot::WebPage
    } else if name == SVG_ROOT || name.ends_with(SVG_PREFIXED_ROOT) {
        MarkupRoot::Svg
    } else {
        MarkupRoot::Other
    }
}

fn element_name(bytes: &[u8]) -> &[u8] {
    let len = bytes
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_' | b'.'))
        .count();
    &bytes[..len]
}

/// Text in UTF-8, a legacy 8-bit code page, or UTF-16 with a byte-order mark: no control bytes
/// but whitespace, form feed, ESC and the old DOS end-of-file mark. Binary formats trip this
/// within their first bytes.
fn looks_like_text(head: &[u8]) -> bool {
    if let Some(units) = head.strip_prefix(UTF16_LE_BOM) {
        return utf16_is_text(units, u16::from_le_bytes);
    }
    if let Some(units) = head.strip_prefix(UTF16_BE_BOM) {
        return utf16_is_text(units, u16::from_be_bytes);
    }
    let body = strip_utf8_bom(head);
    if body
        .iter()
        .any(|&b| matches!(b, 0x00..=0x08 | 0x0E..=0x19 | 0x1C..=0x1F | 0x7F))
    {
        return false;
    }
    match std::str::from_utf8(body) {
        Ok(_) => true,
        // Cut off inside the last character: still UTF-8 text.
        Err(e) if e.error_len().is_none() => true,
        // A legacy 8-bit code page. Windows-1252 leaves these five bytes undefined, so text in
        // any Western code page never holds them; binary data (an `MZ` stub, x86 NOPs) does.
        Err(_) => !body
            .iter()
            .any(|&b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D)),
    }
}

fn utf16_is_text(bytes: &[u8], decode_unit: fn([u8; 2]) -> u16) -> bool {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| decode_unit([pair[0], pair[1]]));
    char::decode_utf16(units).all(|c| c.is_ok_and(|c| !c.is_control() || c.is_whitespace()))
}

// ---------------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------------

fn strip_utf8_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

fn after<'a>(bytes: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    let at = bytes
        .windows(needle.len())
        .position(|window| window == needle)?;
    Some(&bytes[at + needle.len()..])
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests;
