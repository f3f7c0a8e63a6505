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
pub const CATEGORY_ARCHIVE: &str = "archive";
pub const CATEGORY_DISK_IMAGE: &str = "disk image";
/// A format we recognise but do not accept (an icon, a database, a 3D model, …).
pub const CATEGORY_UNLISTED_FORMAT: &str = "other format";
pub const CATEGORY_UNKNOWN_BINARY: &str = "unknown binary";
/// Text content behind the name of a binary format (`notes` renamed `photo.jpg`).
pub const CATEGORY_MISMATCH: &str = "content does not match its extension";
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
mod rows {
    use super::*;

    // Images.
    pub(super) static JPEG: FormatRow = row("JPEG image", IMAGE, "image/jpeg", &["jpg", "jpeg", "jpe", "jfif"], SOLO);
    pub(super) static PNG: FormatRow = row("PNG image", IMAGE, "image/png", &["png", "apng"], SOLO);
    pub(super) static GIF: FormatRow = row("GIF image", IMAGE, "image/gif", &["gif"], SOLO);
    pub(super) static WEBP: FormatRow = row("WebP image", IMAGE, "image/webp", &["webp"], SOLO);
    pub(super) static TIFF: FormatRow = row("TIFF image", IMAGE, "image/tiff", &["tif", "tiff"], &[Family::Tiff]);
    pub(super) static BMP: FormatRow = row("BMP image", IMAGE, "image/bmp", &["bmp", "dib"], SOLO);
    pub(super) static HEIC: FormatRow = row("HEIC image", IMAGE, "image/heic", &["heic", "heics"], &[Family::Heif]);
    pub(super) static HEIF: FormatRow = row("HEIF image", IMAGE, "image/heif", &["heif", "heifs", "hif"], &[Family::Heif]);
    pub(super) static AVIF: FormatRow = row("AVIF image", IMAGE, "image/avif", &["avif", "avifs"], SOLO);
    pub(super) static SVG: FormatRow = row("SVG image", IMAGE, "image/svg+xml", &["svg"], SOLO);
    pub(super) static PSD: FormatRow = row("Photoshop document", IMAGE, "image/vnd.adobe.photoshop", &["psd", "psb"], SOLO);
    pub(super) static JPEG_XL: FormatRow = row("JPEG XL image", IMAGE, "image/jxl", &["jxl"], SOLO);
    pub(super) static CR2: FormatRow = row("Canon CR2 raw photo", IMAGE, "image/x-canon-cr2", &["cr2"], &[Family::Tiff]);
    pub(super) static CR3: FormatRow = row("Canon CR3 raw photo", IMAGE, "image/x-canon-cr3", &["cr3"], SOLO);
    pub(super) static NEF: FormatRow = row("Nikon NEF raw photo", IMAGE, "image/x-nikon-nef", &["nef", "nrw"], &[Family::Tiff]);
    pub(super) static ARW: FormatRow = row("Sony ARW raw photo", IMAGE, "image/x-sony-arw", &["arw", "srf", "sr2"], &[Family::Tiff]);
    pub(super) static DNG: FormatRow = row("DNG raw photo", IMAGE, "image/x-adobe-dng", &["dng"], &[Family::Tiff]);
    pub(super) static ORF: FormatRow = row("Olympus ORF raw photo", IMAGE, "image/x-olympus-orf", &["orf"], &[Family::Tiff]);
    pub(super) static RW2: FormatRow = row("Panasonic RW2 raw photo", IMAGE, "image/x-panasonic-rw2", &["rw2"], &[Family::Tiff]);
    pub(super) static RAF: FormatRow = row("Fujifilm RAF raw photo", IMAGE, "image/x-fuji-raf", &["raf"], SOLO);
    pub(super) static PEF: FormatRow = row("Pentax PEF raw photo", IMAGE, "image/x-pentax-pef", &["pef"], &[Family::Tiff]);
    pub(super) static SRW: FormatRow = row("Samsung SRW raw photo", IMAGE, "image/x-samsung-srw", &["srw"], &[Family::Tiff]);

    // Video.
    pub(super) static MP4: FormatRow = row("MP4 video", VIDEO, "video/mp4", &["mp4"], &[Family::IsoVideo]);
    pub(super) static MOV: FormatRow = row("QuickTime video", VIDEO, "video/quicktime", &["mov", "qt"], &[Family::IsoVideo]);
    pub(super) static M4V: FormatRow = row("M4V video", VIDEO, "video/x-m4v", &["m4v"], &[Family::IsoVideo]);
    pub(super) static AVI: FormatRow = row("AVI video", VIDEO, "video/x-msvideo", &["avi"], SOLO);
    pub(super) static MKV: FormatRow = row("Matroska video", VIDEO, "video/x-matroska", &["mkv", "mk3d"], SOLO);
    pub(super) static WEBM: FormatRow = row("WebM video", VIDEO, "video/webm", &["webm"], SOLO);
    pub(super) static MPEG: FormatRow = row("MPEG video", VIDEO, "video/mpeg", &["mpg", "mpeg", "m2v", "vob"], SOLO);
    pub(super) static THREE_GP: FormatRow = row("3GP video", VIDEO, "video/3gpp", &["3gp", "3g2", "3gpp"], &[Family::IsoVideo]);
    pub(super) static WMV: FormatRow = row("WMV video", VIDEO, "video/x-ms-wmv", &["wmv", "asf"], SOLO);
    pub(super) static FLV: FormatRow = row("Flash video", VIDEO, "video/x-flv", &["flv"], SOLO);
    pub(super) static MPEG_TS: FormatRow = row("MPEG-TS video", VIDEO, "video/mp2t", &["mts", "m2ts", "m2t", "ts"], SOLO);

    // Audio.
    pub(super) static MP3: FormatRow = row("MP3 audio", AUDIO, "audio/mpeg", &["mp3"], SOLO);
    pub(super) static WAV: FormatRow = row("WAV audio", AUDIO, "audio/wav", &["wav", "wave"], SOLO);
    pub(super) static AAC: FormatRow = row("AAC audio", AUDIO, "audio/aac", &["aac", "adts"], SOLO);
    pub(super) static M4A: FormatRow = row("M4A audio", AUDIO, "audio/mp4", &["m4a", "m4b"], SOLO);
    pub(super) static FLAC: FormatRow = row("FLAC audio", AUDIO, "audio/flac", &["flac"], SOLO);
    pub(super) static OGG: FormatRow = row("Ogg/Opus audio", AUDIO, "audio/ogg", &["ogg", "oga", "opus"], SOLO);
    pub(super) static AIFF: FormatRow = row("AIFF audio", AUDIO, "audio/aiff", &["aif", "aiff", "aifc"], SOLO);

    // Documents.
    pub(super) static PDF: FormatRow = row("PDF document", DOCUMENT, "application/pdf", &["pdf"], &[Family::Pdf]);
    pub(super) static DOC: FormatRow = row("Word document", DOCUMENT, "application/msword", &["doc", "dot"], &[Family::CompoundFile]);
    pub(super) static DOCX: FormatRow = row("Word document (DOCX)", DOCUMENT, DOCX_MIME, &["docx"], &[Family::OfficeOpenXml]);
    pub(super) static XLS: FormatRow = row("Excel spreadsheet", DOCUMENT, "application/vnd.ms-excel", &["xls"], &[Family::CompoundFile]);
    pub(super) static XLSX: FormatRow = row("Excel spreadsheet (XLSX)", DOCUMENT, XLSX_MIME, &["xlsx"], &[Family::OfficeOpenXml]);
    pub(super) static PPT: FormatRow = row("PowerPoint presentation", DOCUMENT, "application/vnd.ms-powerpoint", &["ppt", "pps"], &[Family::CompoundFile]);
    pub(super) static PPTX: FormatRow = row("PowerPoint presentation (PPTX)", DOCUMENT, PPTX_MIME, &["pptx", "ppsx"], &[Family::OfficeOpenXml]);
    pub(super) static ODT: FormatRow = row("OpenDocument text", DOCUMENT, ODF_TEXT, &["odt"], SOLO);
    pub(super) static ODS: FormatRow = row("OpenDocument spreadsheet", DOCUMENT, ODF_SPREADSHEET, &["ods"], SOLO);
    pub(super) static ODP: FormatRow = row("OpenDocument presentation", DOCUMENT, ODF_PRESENTATION, &["odp"], SOLO);
    pub(super) static PLAIN_TEXT: FormatRow = row("Plain text", DOCUMENT, "text/plain", &["txt", "text"], &[Family::PlainText]);
    pub(super) static CSV: FormatRow = row("CSV table", DOCUMENT, "text/csv", &["csv"], &[Family::PlainText]);
    pub(super) static RTF: FormatRow = row("RTF document", DOCUMENT, "application/rtf", &["rtf"], SOLO);
    pub(super) static MARKDOWN: FormatRow = row("Markdown text", DOCUMENT, "text/markdown", &["md", "markdown"], &[Family::PlainText]);

    // Design.
    pub(super) static AI: FormatRow = row("Illustrator artwork", DESIGN, "application/vnd.adobe.illustrator", &["ai"], &[Family::Pdf, Family::PostScript]);
    pub(super) static EPS: FormatRow = row("EPS graphic", DESIGN, "application/postscript", &["eps", "epsf", "epsi"], &[Family::PostScript]);
    pub(super) static INDD: FormatRow = row("InDesign document", DESIGN, "application/x-indesign", &["indd"], SOLO);
    pub(super) static SKETCH: FormatRow = row("Sketch design", DESIGN, "application/x-sketch", &["sketch"], SOLO);
    pub(super) static TTF: FormatRow = row("TrueType font", DESIGN, "font/ttf", &["ttf", "ttc"], SOLO);
    pub(super) static OTF: FormatRow = row("OpenType font", DESIGN, "font/otf", &["otf"], SOLO);
    pub(super) static WOFF: FormatRow = row("WOFF font", DESIGN, "font/woff", &["woff"], SOLO);
    pub(super) static WOFF2: FormatRow = row("WOFF2 font", DESIGN, "font/woff2", &["woff2"], SOLO);

    // Refused: programs. Renaming never launders these (see `classify`).
    pub(super) static WINDOWS_EXECUTABLE: FormatRow = row("Windows executable", EXECUTABLE, "application/vnd.microsoft.portable-executable", &["exe", "dll", "scr", "com", "cpl", "sys"], SOLO);
    pub(super) static WINDOWS_INSTALLER: FormatRow = row("Windows installer", EXECUTABLE, "application/x-msi", &["msi"], SOLO);
    pub(super) static ELF: FormatRow = row("Linux executable (ELF)", EXECUTABLE, "application/x-executable", &["elf", "so"], SOLO);
    pub(super) static MACH_O: FormatRow = row("macOS executable (Mach-O)", EXECUTABLE, "application/x-mach-binary", &["dylib"], SOLO);
    pub(super) static JAVA: FormatRow = row("Java program", EXECUTABLE, "application/java-archive", &["jar", "class"], SOLO);
    pub(super) static APP_PACKAGE: FormatRow = row("App package", EXECUTABLE, "application/vnd.android.package-archive", &["apk", "aab", "ipa", "appx", "msix"], SOLO);
    pub(super) static OTHER_EXECUTABLE: FormatRow = row("Other program or installer", EXECUTABLE, OCTET_STREAM, &[], SOLO);
    pub(super) static SHELL_SCRIPT: FormatRow = row("Shell script", SCRIPT, "text/x-shellscript", &["sh", "bash", "zsh", "ksh", "csh", "command"], SOLO);
    pub(super) static BATCH_SCRIPT: FormatRow = row("Windows batch script", SCRIPT, "text/x-msdos-batch", &["bat", "cmd"], SOLO);
    pub(super) static POWERSHELL_SCRIPT: FormatRow = row("PowerShell script", SCRIPT, "text/x-powershell", &["ps1", "psm1", "psd1"], SOLO);
    pub(super) static WINDOWS_SCRIPT_HOST: FormatRow = row("Windows Script Host script", SCRIPT, "text/vbscript", &["vbs", "vbe", "wsf"], SOLO);
    pub(super) static PHP_SCRIPT: FormatRow = row("PHP script", SCRIPT, "application/x-httpd-php", &["php", "phtml", "phar"], SOLO);
    pub(super) static JAVASCRIPT: FormatRow = row("JavaScript", SCRIPT, "text/javascript", &["js", "mjs", "cjs"], SOLO);
    pub(super) static PYTHON_SCRIPT: FormatRow = row("Python script", SCRIPT, "text/x-python", &["py", "pyw"], SOLO);
    pub(super) static SHEBANG_SCRIPT: FormatRow = row("Script (#! interpreter line)", SCRIPT, "text/plain", &[], SOLO);
    pub(super) static WEB_PAGE: FormatRow = row("Web page (HTML)", Support::Unsupported(CATEGORY_WEB_PAGE), "text/html", &["html", "htm", "xhtml", "shtml"], SOLO);

    // Refused: containers whose contents we would not see.
    pub(super) static ZIP: FormatRow = row("ZIP archive", ARCHIVE, "application/zip", &["zip", "zipx"], SOLO);
    pub(super) static RAR: FormatRow = row("RAR archive", ARCHIVE, "application/vnd.rar", &["rar"], SOLO);
    pub(super) static SEVEN_ZIP: FormatRow = row("7-Zip archive", ARCHIVE, "application/x-7z-compressed", &["7z"], SOLO);
    pub(super) static TAR: FormatRow = row("TAR archive", ARCHIVE, "application/x-tar", &["tar"], SOLO);
    pub(super) static GZIP: FormatRow = row("Gzip archive", ARCHIVE, "application/gzip", &["gz", "tgz"], SOLO);
    pub(super) static BZIP2: FormatRow = row("Bzip2 archive", ARCHIVE, "application/x-bzip2", &["bz2", "tbz2", "tbz"], SOLO);
    pub(super) static XZ: FormatRow = row("XZ archive", ARCHIVE, "application/x-xz", &["xz", "txz"], SOLO);
    pub(super) static OTHER_ARCHIVE: FormatRow = row("Other archive or compressed file", ARCHIVE, OCTET_STREAM, &[], SOLO);
    pub(super) static ISO_IMAGE: FormatRow = row("ISO disc image", DISK_IMAGE, "application/x-iso9660-image", &["iso"], SOLO);
    pub(super) static DMG: FormatRow = row("Apple disk image", DISK_IMAGE, "application/x-apple-diskimage", &["dmg"], SOLO);
    pub(super) static VIRTUAL_DISK: FormatRow = row("Virtual machine disk", DISK_IMAGE, OCTET_STREAM, &["vhd", "vhdx", "vmdk", "qcow2", "qcow", "vdi"], SOLO);
    pub(super) static OTHER_DISK_IMAGE: FormatRow = row("Other disk image", DISK_IMAGE, OCTET_STREAM, &[], SOLO);

    // Refused: everything else.
    pub(super) static UNLISTED_FORMAT: FormatRow = row("Other recognised format", Support::Unsupported(CATEGORY_UNLISTED_FORMAT), OCTET_STREAM, &[], SOLO);
    pub(super) static UNKNOWN_BINARY: FormatRow = row("Unknown binary data", Support::Unsupported(CATEGORY_UNKNOWN_BINARY), OCTET_STREAM, &[], SOLO);
    pub(super) static EMPTY: FormatRow = row("Empty file", Support::Unsupported(CATEGORY_EMPTY), OCTET_STREAM, &[], SOLO);
}
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
    &PYTHON_SCRIPT, &SHEBANG_SCRIPT,
    &WEB_PAGE,
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
    // A script stays a script whatever it is called; `#!AMR` is audio, not an interpreter line.
    let outcome =
        if strip_utf8_bom(head).starts_with(SHEBANG) && content != FileFormat::AdaptiveMultiRate {
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

/// Plain text wearing the name of a binary format (an image, a video, a PDF…) is refused: it
/// is not what its name promises, and admitting it by name would let anything through.
fn text_detection(head: &[u8], extension: Option<&str>) -> Detection {
    let row = text_row(head, extension);
    let claimed = extension.and_then(row_for_extension);
    match claimed {
        Some(named)
            if std::ptr::eq(row, &PLAIN_TEXT) && !named.families.contains(&Family::PlainText) =>
        {
            Detection {
                format: format!("Plain text with a .{} name", extension.unwrap_or_default()),
                mime: row.mime.to_owned(),
                verdict: Verdict::Unsupported {
                    category: CATEGORY_MISMATCH.to_owned(),
                },
            }
        }
        _ => row.detection(),
    }
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
mod tests {
    use super::*;
    use std::io::Write;

    const MIB: u64 = 1024 * 1024;

    // -- sample builders: minimal but well-formed headers --------------------------------------

    fn jpeg() -> Vec<u8> {
        let mut bytes =
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
        bytes.extend_from_slice(b"\xFF\xD9");
        bytes
    }

    fn png() -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1A\n".to_vec();
        bytes.extend_from_slice(b"\x00\x00\x00\x0DIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xDE");
        bytes
    }

    fn gif() -> Vec<u8> {
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xFF\xFF\xFF,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec()
    }

    fn bmp() -> Vec<u8> {
        let mut bytes = b"BM".to_vec();
        bytes.extend_from_slice(&58u32.to_le_bytes()); // file size
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&54u32.to_le_bytes()); // pixel data offset
        bytes.extend_from_slice(&40u32.to_le_bytes()); // BITMAPINFOHEADER
        bytes.extend_from_slice(&1i32.to_le_bytes());
        bytes.extend_from_slice(&1i32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes()); // planes
        bytes.extend_from_slice(&24u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 24]);
        bytes.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0x00]);
        bytes
    }

    fn riff(form: &[u8; 4], chunk: &[u8]) -> Vec<u8> {
        let mut bytes = b"RIFF".to_vec();
        bytes.extend_from_slice(&(4 + chunk.len() as u32).to_le_bytes());
        bytes.extend_from_slice(form);
        bytes.extend_from_slice(chunk);
        bytes
    }

    /// Little-endian TIFF with one IFD entry (ImageWidth = 1).
    fn tiff() -> Vec<u8> {
        let mut bytes = b"II*\x00\x08\x00\x00\x00".to_vec();
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(b"\x00\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00");
        bytes.extend_from_slice(&[0; 4]);
        bytes
    }

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut bytes = (8 + payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.extend_from_slice(payload);
        bytes
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut payload = major.to_vec();
        payload.extend_from_slice(&[0; 4]);
        for brand in compatible {
            payload.extend_from_slice(*brand);
        }
        mp4_box(b"ftyp", &payload)
    }

    /// `moov/trak/mdia/hdlr` declaring one track with `handler` ("vide", "soun").
    fn moov_with_track(handler: &[u8; 4]) -> Vec<u8> {
        let mut hdlr = vec![0; 8];
        hdlr.extend_from_slice(handler);
        hdlr.extend_from_slice(&[0; 13]);
        mp4_box(
            b"moov",
            &mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr))),
        )
    }

    fn iso_file(major: &[u8; 4], compatible: &[&[u8; 4]], track: Option<&[u8; 4]>) -> Vec<u8> {
        let mut bytes = ftyp(major, compatible);
        if let Some(handler) = track {
            bytes.extend(moov_with_track(handler));
        }
        bytes.extend(mp4_box(b"mdat", &[0; 16]));
        bytes
    }

    fn mp4_video() -> Vec<u8> {
        iso_file(b"isom", &[b"isom", b"iso2", b"mp41"], Some(b"vide"))
    }

    fn ebml(doc_type: &[u8]) -> Vec<u8> {
        let mut element = b"\x42\x82".to_vec();
        element.push(0x80 | doc_type.len() as u8);
        element.extend_from_slice(doc_type);
        let mut bytes = b"\x1A\x45\xDF\xA3".to_vec();
        bytes.push(0x80 | element.len() as u8);
        bytes.extend(element);
        bytes
    }

    fn pdf() -> Vec<u8> {
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".to_vec()
    }

    fn illustrator_pdf() -> Vec<u8> {
        let mut bytes = pdf();
        bytes.extend_from_slice(b"2 0 obj\n<< /AIPrivateData1 3 0 R >>\nendobj\n");
        bytes
    }

    const CRC32_POLYNOMIAL: u32 = 0xEDB8_8320;

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ CRC32_POLYNOMIAL
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A real ZIP (stored entries, CRCs, central directory) that `unzip -t` accepts.
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in entries {
            let offset = out.len() as u32;
            let common = |bytes: &mut Vec<u8>| {
                bytes.extend_from_slice(&20u16.to_le_bytes()); // version needed
                bytes.extend_from_slice(&0u16.to_le_bytes()); // flags
                bytes.extend_from_slice(&0u16.to_le_bytes()); // stored
                bytes.extend_from_slice(&0u16.to_le_bytes()); // time
                bytes.extend_from_slice(&0x5A21u16.to_le_bytes()); // date 2025-01-01
                bytes.extend_from_slice(&crc32(data).to_le_bytes());
                bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
                bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
                bytes.extend_from_slice(&(name.len() as u16).to_le_bytes());
                bytes.extend_from_slice(&0u16.to_le_bytes()); // extra
            };
            out.extend_from_slice(b"PK\x03\x04");
            common(&mut out);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);

            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&20u16.to_le_bytes()); // version made by
            common(&mut central);
            central.extend_from_slice(&[0; 10]); // comment length, disk, internal and external attributes
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let central_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&central_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;

    fn docx() -> Vec<u8> {
        zip(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/document.xml", b"<w:document/>"),
        ])
    }

    /// Compound File Binary: header plus one directory sector whose root entry has `clsid`.
    fn compound_file(root_clsid: [u8; 16]) -> Vec<u8> {
        let mut bytes = COMPOUND_FILE_MAGIC.to_vec();
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend_from_slice(&0x003Eu16.to_le_bytes()); // minor version
        bytes.extend_from_slice(&0x0003u16.to_le_bytes()); // major version 3: 512-byte sectors
        bytes.extend_from_slice(&0xFFFEu16.to_le_bytes()); // byte order
        bytes.extend_from_slice(&9u16.to_le_bytes()); // sector shift
        bytes.extend_from_slice(&6u16.to_le_bytes()); // mini sector shift
        bytes.resize(48, 0);
        bytes.extend_from_slice(&0u32.to_le_bytes()); // first directory sector
        bytes.resize(512, 0);
        let mut root = "Root Entry"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<_>>();
        root.resize(80, 0);
        root.extend_from_slice(&root_clsid);
        root.resize(128, 0);
        bytes.extend(root);
        bytes.resize(1024, 0);
        bytes
    }

    /// CLSID 00020906-0000-0000-C000-000000000046 (Word document), as stored on disk.
    const WORD_CLSID: [u8; 16] = [6, 9, 2, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];

    fn windows_executable() -> Vec<u8> {
        let mut bytes = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
        bytes.resize(0x3C, 0);
        bytes.extend_from_slice(&0x40u32.to_le_bytes()); // offset of the PE header
        bytes.extend_from_slice(b"PE\x00\x00\x4C\x01\x01\x00");
        bytes.resize(0x40 + 4 + 18, 0);
        bytes.extend_from_slice(&0x0102u16.to_le_bytes()); // executable image, 32-bit
        bytes.resize(0x100, 0);
        bytes
    }

    fn elf() -> Vec<u8> {
        let mut bytes = b"\x7FELF\x02\x01\x01\x00".to_vec();
        bytes.resize(16, 0);
        bytes.extend_from_slice(&2u16.to_le_bytes()); // executable
        bytes.extend_from_slice(&0x3Eu16.to_le_bytes()); // x86-64
        bytes.resize(64, 0);
        bytes
    }

    fn mach_o() -> Vec<u8> {
        let mut bytes =
            b"\xCF\xFA\xED\xFE\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00".to_vec();
        bytes.resize(32, 0);
        bytes
    }

    fn tar() -> Vec<u8> {
        let mut bytes = b"photo.jpg".to_vec();
        bytes.resize(257, 0);
        bytes.extend_from_slice(b"ustar\x0000");
        bytes.resize(1024, 0);
        bytes
    }

    fn mpeg_ts() -> Vec<u8> {
        let mut bytes = Vec::new();
        for _ in 0..3 {
            let mut packet = b"\x47\x40\x00\x10\x00".to_vec();
            packet.resize(188, 0xFF);
            bytes.extend(packet);
        }
        bytes
    }

    fn ogg_opus() -> Vec<u8> {
        let mut bytes = b"OggS\x00\x02".to_vec();
        bytes.resize(26, 0);
        bytes.extend_from_slice(&[1, 19]); // one segment of 19 bytes
        bytes.extend_from_slice(b"OpusHead\x01\x02\x38\x01\x80\xBB\x00\x00\x00\x00\x00");
        bytes
    }

    // -- assertions -------------------------------------------------------------------------

    fn row_named(name: &str) -> &'static FormatRow {
        FORMAT_TABLE
            .iter()
            .copied()
            .find(|row| row.name == name)
            .unwrap_or_else(|| panic!("no table row named {name:?}"))
    }

    /// `detection` is exactly the table row `row` (name, mime and verdict).
    #[track_caller]
    fn assert_row(detection: &Detection, row: &str, case: &str) {
        assert_eq!(detection, &row_named(row).detection(), "{case}");
    }

    #[track_caller]
    fn assert_refused(detection: &Detection, category: &str, case: &str) {
        assert_eq!(
            detection.verdict,
            Verdict::Unsupported {
                category: category.to_string()
            },
            "{case}: {detection:?}"
        );
    }

    /// Detects each case under a name with no extension, so only the content can decide.
    #[track_caller]
    fn assert_detected_by_content(cases: &[(&str, Vec<u8>, &str)], kind: FileKind) {
        for (case, bytes, row) in cases {
            let detection = detect_bytes(bytes, "upload");
            assert_row(&detection, row, case);
            assert_eq!(detection.kind(), Some(kind), "{case}");
        }
    }

    // -- content decides ----------------------------------------------------------------------

    #[test]
    fn detects_images_by_content() {
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#;
        assert_detected_by_content(
            &[
                ("JPEG", jpeg(), "JPEG image"),
                ("PNG", png(), "PNG image"),
                ("GIF", gif(), "GIF image"),
                ("WebP", riff(b"WEBP", b"VP8L\x05\x00\x00\x00\x2F\x00\x00\x00\x00"), "WebP image"),
                ("TIFF", tiff(), "TIFF image"),
                ("BMP", bmp(), "BMP image"),
                ("HEIC", iso_file(b"heic", &[b"mif1", b"heic"], None), "HEIC image"),
                ("HEIF", iso_file(b"mif1", &[b"mif1"], None), "HEIF image"),
                ("HEIF brand with HEIC inside", iso_file(b"mif1", &[b"mif1", b"heic"], None), "HEIC image"),
                ("AVIF", iso_file(b"avif", &[b"avif", b"mif1"], None), "AVIF image"),
                ("AVIF under a mif1 major brand", iso_file(b"mif1", &[b"avif"], None), "AVIF image"),
                ("SVG", svg.to_vec(), "SVG image"),
                ("PSD", b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x08\x00\x03".to_vec(), "Photoshop document"),
                ("JPEG XL", b"\xFF\x0A\xFA\x7F\x01\x90\x08".to_vec(), "JPEG XL image"),
                ("CR3", iso_file(b"crx ", &[b"crx ", b"isom"], None), "Canon CR3 raw photo"),
                ("RAF", b"FUJIFILMCCD-RAW 0201FF383501".to_vec(), "Fujifilm RAF raw photo"),
                ("CR2", b"II*\x00\x10\x00\x00\x00CR\x02\x00\x00\x00\x00\x00".to_vec(), "Canon CR2 raw photo"),
                ("NEF", b"II*\x00\x08\x00\x00\x00\x1C\x00\xFE\x00\x04\x00".to_vec(), "Nikon NEF raw photo"),
                ("ORF", b"IIRO\x08\x00\x00\x00\x18\x00\x00\x00".to_vec(), "Olympus ORF raw photo"),
                ("RW2", b"IIU\x00\x18\x00\x00\x00\x88\xE7\x74\xD8\x00\x00".to_vec(), "Panasonic RW2 raw photo"),
            ],
            FileKind::Image,
        );
    }

    #[test]
    fn detects_videos_by_content() {
        let mut mpeg_ps = b"\x00\x00\x01\xBA\x44\x00\x04\x00\x04\x01\x01\x89\xC3\xF8".to_vec();
        mpeg_ps.resize(64, 0);
        let mut asf = b"\x30\x26\xB2\x75\x8E\x66\xCF\x11\xA6\xD9\x00\xAA\x00\x62\xCE\x6C".to_vec();
        asf.extend_from_slice(&30u64.to_le_bytes());
        asf.extend_from_slice(&0u32.to_le_bytes()); // no header objects
        asf.extend_from_slice(&[1, 2]);
        assert_detected_by_content(
            &[
                ("MP4 with a video track", mp4_video(), "MP4 video"),
                (
                    "MP4 without tracks",
                    iso_file(b"mp42", &[b"mp42", b"isom"], None),
                    "MP4 video",
                ),
                (
                    "QuickTime",
                    iso_file(b"qt  ", &[b"qt  "], Some(b"vide")),
                    "QuickTime video",
                ),
                (
                    "M4V",
                    iso_file(b"M4V ", &[b"M4V ", b"M4A ", b"mp42"], None),
                    "M4V video",
                ),
                (
                    "3GP",
                    iso_file(b"3gp4", &[b"3gp4", b"isom"], None),
                    "3GP video",
                ),
                (
                    "AVI",
                    riff(b"AVI ", b"LIST\x04\x00\x00\x00hdrl"),
                    "AVI video",
                ),
                ("WebM", ebml(b"webm"), "WebM video"),
                ("Matroska", ebml(b"matroska"), "Matroska video"),
                ("MPEG program stream", mpeg_ps, "MPEG video"),
                ("MPEG transport stream", mpeg_ts(), "MPEG-TS video"),
                ("ASF/WMV", asf, "WMV video"),
                (
                    "FLV",
                    b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00".to_vec(),
                    "Flash video",
                ),
            ],
            FileKind::Video,
        );
    }

    #[test]
    fn detects_audio_by_content() {
        let mut mp3 = b"ID3\x03\x00\x00\x00\x00\x00\x00".to_vec();
        mp3.extend_from_slice(b"\xFF\xFB\x90\x00");
        mp3.resize(64, 0);
        let mut aiff = b"FORM\x00\x00\x00\x2EAIFFCOMM\x00\x00\x00\x12".to_vec();
        aiff.resize(64, 0);
        let mut flac = b"fLaC\x80\x00\x00\x22".to_vec();
        flac.resize(64, 0);
        let mut aac = b"\xFF\xF1\x50\x80\x02\x1F\xFC".to_vec();
        aac.resize(64, 0);
        assert_detected_by_content(
            &[
                ("MP3 with ID3 tag", mp3, "MP3 audio"),
                (
                    "WAV",
                    riff(b"WAVE", b"fmt \x10\x00\x00\x00\x01\x00\x01\x00"),
                    "WAV audio",
                ),
                ("AAC (ADTS)", aac, "AAC audio"),
                (
                    "M4A",
                    iso_file(b"M4A ", &[b"M4A ", b"mp42", b"isom"], Some(b"soun")),
                    "M4A audio",
                ),
                ("FLAC", flac, "FLAC audio"),
                ("Ogg Opus", ogg_opus(), "Ogg/Opus audio"),
                ("AIFF", aiff, "AIFF audio"),
            ],
            FileKind::Audio,
        );
    }

    #[test]
    fn detects_documents_by_content() {
        let odt = zip(&[
            ("mimetype", ODF_TEXT.as_bytes()),
            ("content.xml", b"<office:document-content/>"),
        ]);
        let xlsx = zip(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("xl/workbook.xml", b"<workbook/>"),
        ]);
        let pptx = zip(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("ppt/presentation.xml", b"<p:presentation/>"),
        ]);
        assert_detected_by_content(
            &[
                ("PDF", pdf(), "PDF document"),
                (
                    "DOC (Word CLSID)",
                    compound_file(WORD_CLSID),
                    "Word document",
                ),
                ("DOCX", docx(), "Word document (DOCX)"),
                ("XLSX", xlsx, "Excel spreadsheet (XLSX)"),
                ("PPTX", pptx, "PowerPoint presentation (PPTX)"),
                ("ODT", odt, "OpenDocument text"),
                ("RTF", br"{\rtf1\ansi Hello}".to_vec(), "RTF document"),
                (
                    "plain text",
                    b"Shot list for Monday\n".to_vec(),
                    "Plain text",
                ),
            ],
            FileKind::Document,
        );
    }

    #[test]
    fn detects_design_files_by_content() {
        let mut indd = b"\x06\x06\xED\xF5\xD8\x1D\x46\xE5\xBD\x31\xEF\xE7\xFE\x74\xB7\x1D".to_vec();
        indd.resize(64, 0);
        let mut ttf = b"\x00\x01\x00\x00\x00\x0A\x00\x80\x00\x03\x00\x20".to_vec();
        ttf.resize(64, 0);
        let mut otf = b"OTTO\x00\x0A\x00\x80\x00\x03\x00\x20".to_vec();
        otf.resize(64, 0);
        let mut woff = b"wOFF\x00\x01\x00\x00".to_vec();
        woff.resize(64, 0);
        let mut woff2 = b"wOF2\x00\x01\x00\x00".to_vec();
        woff2.resize(64, 0);
        let sketch = zip(&[("document.json", b"{}"), ("meta.json", b"{}")]);
        assert_detected_by_content(
            &[
                (
                    "PDF with Illustrator data",
                    illustrator_pdf(),
                    "Illustrator artwork",
                ),
                (
                    "EPS",
                    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 1 1\n".to_vec(),
                    "EPS graphic",
                ),
                ("INDD", indd, "InDesign document"),
                ("Sketch", sketch, "Sketch design"),
                ("TTF", ttf, "TrueType font"),
                ("OTF", otf, "OpenType font"),
                ("WOFF", woff, "WOFF font"),
                ("WOFF2", woff2, "WOFF2 font"),
            ],
            FileKind::Design,
        );
    }

    #[test]
    fn refuses_programs_scripts_pages_archives_and_disk_images_by_content() {
        let mut iso = vec![0; 32769];
        iso.extend_from_slice(b"CD001\x01");
        iso.resize(36 * 1024, 0);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "Windows executable",
                windows_executable(),
                "Windows executable",
            ),
            ("ELF", elf(), "Linux executable (ELF)"),
            ("Mach-O", mach_o(), "macOS executable (Mach-O)"),
            (
                "JAR",
                zip(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n")]),
                "Java program",
            ),
            (
                "shell script",
                b"#!/bin/sh\nrm -rf /tmp/x\n".to_vec(),
                "Shell script",
            ),
            ("PHP", b"<?php echo 1; ?>\n".to_vec(), "PHP script"),
            (
                "HTML",
                b"<!DOCTYPE html>\n<html><body>hi</body></html>\n".to_vec(),
                "Web page (HTML)",
            ),
            ("ZIP", zip(&[("photo.jpg", &jpeg())]), "ZIP archive"),
            (
                "RAR",
                b"Rar!\x1A\x07\x01\x00\x33\x92\xB5\xE5\x0A\x01\x05\x06\x00".to_vec(),
                "RAR archive",
            ),
            (
                "7z",
                b"7z\xBC\xAF\x27\x1C\x00\x04\x00\x00\x00\x00".to_vec(),
                "7-Zip archive",
            ),
            ("TAR", tar(), "TAR archive"),
            (
                "gzip",
                b"\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                    .to_vec(),
                "Gzip archive",
            ),
            (
                "bzip2",
                b"BZh91AY&SY\x00\x00\x00\x00".to_vec(),
                "Bzip2 archive",
            ),
            (
                "xz",
                b"\xFD7zXZ\x00\x00\x04\xE6\xD6\xB4\x46".to_vec(),
                "XZ archive",
            ),
            ("ISO 9660", iso, "ISO disc image"),
            (
                "QCOW2",
                b"QFI\xFB\x00\x00\x00\x03\x00\x00\x00\x00".to_vec(),
                "Virtual machine disk",
            ),
        ];
        for (case, bytes, row) in &cases {
            let detection = detect_bytes(bytes, "upload");
            assert_row(&detection, row, case);
            assert_eq!(detection.kind(), None, "{case}");
        }
    }

    // -- the rules that matter most -------------------------------------------------------------

    #[test]
    fn executable_named_jpg_is_refused_as_executable() {
        for (case, bytes) in [
            ("MZ", windows_executable()),
            ("ELF", elf()),
            ("Mach-O", mach_o()),
        ] {
            assert_refused(
                &detect_bytes(&bytes, "photo.jpg"),
                CATEGORY_EXECUTABLE,
                case,
            );
        }
        // Even a bare, cut-short MZ stub that no reader can parse.
        let stub = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00";
        assert_refused(
            &detect_bytes(stub, "photo.jpg"),
            CATEGORY_EXECUTABLE,
            "MZ stub",
        );
    }

    #[test]
    fn scripts_are_refused_whatever_their_name() {
        let cases: [(&[u8], &str); 4] = [
            (b"#!/bin/sh\necho hi\n", "notes.txt"),
            (b"#!/usr/bin/env python3\nprint(1)\n", "photo.jpg"),
            (b"#! /usr/bin/perl\nprint 1;\n", "clip.mp4"),
            (b"\xEF\xBB\xBF#!/bin/bash\necho hi\n", "readme.md"),
        ];
        for (bytes, name) in cases {
            assert_refused(&detect_bytes(bytes, name), CATEGORY_SCRIPT, name);
        }
        assert_row(
            &detect_bytes(b"alert(1);\n", "app.js"),
            "JavaScript",
            "script by extension",
        );
        assert_row(
            &detect_bytes(b"@echo off\ndel *.*\n", "run.txt"),
            "Windows batch script",
            "batch by content",
        );
    }

    #[test]
    fn web_pages_are_refused_by_start_or_by_name() {
        let cases: [(&[u8], &str); 5] = [
            (b"<!DOCTYPE html><html></html>", "page.txt"),
            (b"  \n<HTML><BODY>x</BODY></HTML>", "upload"),
            (b"<!-- saved from url=(0014)about:internet -->\n<html></html>", "page.svg"),
            (b"<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><svg/></html>", "icon.svg"),
            (b"Just words, but called a page.\n", "index.html"),
        ];
        for (bytes, name) in cases {
            assert_refused(&detect_bytes(bytes, name), CATEGORY_WEB_PAGE, name);
        }
    }

    #[test]
    fn mp4_named_jpg_is_a_video() {
        let detection = detect_bytes(&mp4_video(), "photo.jpg");
        assert!(detection.is_video(), "{detection:?}");
        assert_row(&detection, "MP4 video", "MP4 named .jpg");
        // Without tracks the brand alone still makes it a video.
        let bare = detect_bytes(&iso_file(b"isom", &[b"isom"], None), "photo.jpg");
        assert!(bare.is_video(), "{bare:?}");
    }

    #[test]
    fn audio_only_mp4_is_audio_not_video() {
        let m4a = detect_bytes(
            &iso_file(b"M4A ", &[b"M4A ", b"isom"], Some(b"soun")),
            "song.m4a",
        );
        assert_row(&m4a, "M4A audio", "M4A brand");
        assert!(!m4a.is_video());
        let isom_audio = detect_bytes(&iso_file(b"isom", &[b"isom"], Some(b"soun")), "song.mp4");
        assert_row(&isom_audio, "M4A audio", "isom brand, sound track only");
    }

    #[test]
    fn audio_brand_with_a_video_track_is_a_video() {
        let detection = detect_bytes(&iso_file(b"M4A ", &[b"M4A "], Some(b"vide")), "song.m4a");
        assert!(detection.is_video(), "{detection:?}");
    }

    #[test]
    fn pdf_is_a_document_unless_named_ai() {
        assert_row(
            &detect_bytes(&pdf(), "brochure.pdf"),
            "PDF document",
            "PDF named .pdf",
        );
        assert_row(
            &detect_bytes(&pdf(), "logo.ai"),
            "Illustrator artwork",
            "PDF named .ai",
        );
        assert_row(
            &detect_bytes(&pdf(), "logo.jpg"),
            "PDF document",
            "PDF named .jpg",
        );
        assert_row(
            &detect_bytes(&illustrator_pdf(), "export.pdf"),
            "PDF document",
            "AI data named .pdf",
        );
        assert_row(
            &detect_bytes(&illustrator_pdf(), "logo.ai"),
            "Illustrator artwork",
            "AI data named .ai",
        );
    }

    #[test]
    fn postscript_is_eps_or_illustrator_by_name() {
        let eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 1 1\n";
        let legacy_ai = b"%!PS-Adobe-3.0\n%%Creator: Adobe Illustrator(R) 8.0\n";
        assert_row(
            &detect_bytes(eps, "logo.eps"),
            "EPS graphic",
            "EPS named .eps",
        );
        assert_row(
            &detect_bytes(eps, "logo.ai"),
            "Illustrator artwork",
            "EPS named .ai",
        );
        assert_row(
            &detect_bytes(legacy_ai, "logo.ai"),
            "Illustrator artwork",
            "legacy AI",
        );
        assert_refused(
            &detect_bytes(legacy_ai, "print.ps"),
            CATEGORY_UNLISTED_FORMAT,
            "plain PostScript",
        );
    }

    #[test]
    fn empty_file_is_refused_as_empty() {
        assert_row(&detect_bytes(b"", "photo.jpg"), "Empty file", "empty");
        assert_refused(&detect_bytes(b"", "photo.jpg"), CATEGORY_EMPTY, "empty");
    }

    #[test]
    fn unknown_binary_is_refused() {
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let detection = detect_bytes(&noise, "photo.jpg");
        assert_row(&detection, "Unknown binary data", "noise named .jpg");
        assert_refused(&detection, CATEGORY_UNKNOWN_BINARY, "noise");
    }

    #[test]
    fn recognised_but_unlisted_formats_are_named_by_content() {
        let mut sqlite = b"SQLite format 3\x00".to_vec();
        sqlite.resize(512, 0);
        let detection = detect_bytes(&sqlite, "library.jpg");
        assert_refused(&detection, CATEGORY_UNLISTED_FORMAT, "SQLite");
        assert_eq!(detection.format, "SQLite 3");
        let zstd = detect_bytes(b"\x28\xB5\x2F\xFD\x04\x00\x00\x00", "backup.jpg");
        assert_refused(&zstd, CATEGORY_ARCHIVE, "zstd");
    }

    // -- ties inside a family --------------------------------------------------------------------

    #[test]
    fn tiff_raw_formats_are_told_apart_by_extension() {
        for (name, row) in [
            ("DSC_0001.NEF", "Nikon NEF raw photo"),
            ("IMG_0001.dng", "DNG raw photo"),
            ("IMGP0001.PEF", "Pentax PEF raw photo"),
            ("scan.tif", "TIFF image"),
            ("scan.jpg", "TIFF image"),
            ("scan", "TIFF image"),
        ] {
            assert_row(&detect_bytes(&tiff(), name), row, name);
        }
    }

    #[test]
    fn iso_video_is_named_by_extension_only_for_generic_brands() {
        assert_row(
            &detect_bytes(&mp4_video(), "clip.mov"),
            "QuickTime video",
            "isom named .mov",
        );
        assert_row(
            &detect_bytes(&mp4_video(), "clip.m4v"),
            "M4V video",
            "isom named .m4v",
        );
        assert_row(
            &detect_bytes(&mp4_video(), "clip.m4a"),
            "MP4 video",
            "video named .m4a stays video",
        );
        let heic = iso_file(b"heic", &[b"mif1", b"heic"], None);
        assert_row(
            &detect_bytes(&heic, "IMG_1.heif"),
            "HEIF image",
            "HEIC named .heif",
        );
        let avif = iso_file(b"avif", &[b"avif"], None);
        assert_row(
            &detect_bytes(&avif, "IMG_1.heic"),
            "AVIF image",
            "AVIF named .heic",
        );
    }

    #[test]
    fn zip_packages_are_told_apart_by_entries_before_names() {
        assert_row(
            &detect_bytes(&docx(), "report.zip"),
            "Word document (DOCX)",
            "DOCX named .zip",
        );
        let photos = zip(&[("a.jpg", &jpeg()), ("b.jpg", &jpeg())]);
        assert_row(
            &detect_bytes(&photos, "report.docx"),
            "ZIP archive",
            "archive named .docx",
        );
        let bare_ooxml = zip(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("docProps/app.xml", b"<x/>"),
        ]);
        assert_row(
            &detect_bytes(&bare_ooxml, "budget.xlsx"),
            "Excel spreadsheet (XLSX)",
            "OOXML by name",
        );
        assert_row(
            &detect_bytes(&bare_ooxml, "budget.zip"),
            "ZIP archive",
            "OOXML named .zip",
        );
    }

    #[test]
    fn zip_cut_short_is_still_read_from_its_local_headers() {
        // Cut just past the second entry's name: no central directory, no extension to help.
        let whole = docx();
        let word_entry = b"word/document.xml";
        let name_at = whole
            .windows(word_entry.len())
            .position(|window| window == word_entry)
            .expect("entry name");
        let cut = &whole[..name_at + word_entry.len()];
        assert_row(
            &detect_bytes(cut, "report"),
            "Word document (DOCX)",
            "head of a DOCX",
        );
        let odp = zip(&[
            ("mimetype", ODF_PRESENTATION.as_bytes()),
            ("content.xml", b"<x/>"),
        ]);
        assert_row(
            &detect_bytes(&odp[..90], "talk"),
            "OpenDocument presentation",
            "ODP head",
        );
    }

    #[test]
    fn compound_files_fall_back_to_extension() {
        let unknown_clsid = compound_file([0; 16]);
        assert_row(
            &detect_bytes(&unknown_clsid, "budget.xls"),
            "Excel spreadsheet",
            "CFB named .xls",
        );
        assert_row(
            &detect_bytes(&unknown_clsid, "deck.PPT"),
            "PowerPoint presentation",
            "CFB named .ppt",
        );
        let unnamed = detect_bytes(&unknown_clsid, "setup.msi");
        assert_refused(&unnamed, CATEGORY_UNLISTED_FORMAT, "CFB named .msi");
        assert_eq!(unnamed.format, "Compound File Binary");
        // Cut to its header, the file is still a CFB and the name still picks the member.
        assert_row(
            &detect_bytes(&unknown_clsid[..512], "memo.doc"),
            "Word document",
            "CFB header only",
        );
    }

    #[test]
    fn plain_text_is_named_by_extension() {
        let csv = b"name,size\nphoto.jpg,1024\n";
        assert_row(&detect_bytes(csv, "files.csv"), "CSV table", "csv");
        assert_row(
            &detect_bytes(b"# Title\n\nSome *text*.\n", "README.md"),
            "Markdown text",
            "md",
        );
        assert_row(&detect_bytes(csv, "files.txt"), "Plain text", "txt");
        assert_row(&detect_bytes(csv, "files"), "Plain text", "no extension");
        let disguised = detect_bytes(b"just some notes\n", "holiday.jpg");
        assert_eq!(
            disguised.verdict,
            Verdict::Unsupported {
                category: CATEGORY_MISMATCH.to_owned()
            },
            "text named .jpg is not an image"
        );
        let mut nop_stub = b"MZ".to_vec();
        nop_stub.extend([0x90u8; 200]);
        assert_eq!(
            detect_bytes(&nop_stub, "setup.jpg").kind(),
            None,
            "an MZ stub of NOP bytes is not 8-bit text"
        );
        assert_eq!(
            detect_bytes(csv, "photo.jpg").verdict,
            Verdict::Unsupported {
                category: CATEGORY_MISMATCH.to_owned()
            },
            "text named .jpg is refused, not taken for a document"
        );
        let latin1 = b"Caf\xE9 cr\xE8me, \xA9 2024\r\n";
        assert_row(
            &detect_bytes(latin1, "menu.txt"),
            "Plain text",
            "Latin-1 text",
        );
        let utf16: Vec<u8> = UTF16_LE_BOM
            .iter()
            .copied()
            .chain("a,b\r\n1,2\r\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_row(
            &detect_bytes(&utf16, "export.csv"),
            "CSV table",
            "UTF-16 CSV",
        );
    }

    #[test]
    fn text_that_starts_like_a_weak_signature_stays_text() {
        assert_row(
            &detect_bytes(b"true,false\n1,0\n", "flags.csv"),
            "CSV table",
            "\"true\" is not a font",
        );
        let mz_text =
            b"MZ Records catalogue, 2024 edition: vinyl, tapes and the odd compact disc.\n";
        assert_row(
            &detect_bytes(mz_text, "list.txt"),
            "Plain text",
            "\"MZ\" is not a program",
        );
        assert_row(
            &detect_bytes(b"solid ground\n", "poem.txt"),
            "Plain text",
            "\"solid \" is not STL",
        );
    }

    #[test]
    fn svg_is_recognised_by_its_root_element() {
        let cases: [&[u8]; 4] = [
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- Generator: Illustrator -->\n<svg version=\"1.1\"/>",
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"svg11.dtd\">\n<svg/>",
            b"<svg:svg xmlns:svg=\"http://www.w3.org/2000/svg\"/>",
        ];
        for bytes in cases {
            assert_row(
                &detect_bytes(bytes, "icon.txt"),
                "SVG image",
                &String::from_utf8_lossy(bytes),
            );
        }
        let not_svg = b"<?xml version=\"1.0\"?><catalog><svg/></catalog>";
        let not_svg = detect_bytes(not_svg, "icon.svg");
        assert_eq!(
            not_svg.format, "Plain text with a .svg name",
            "svg not at the root"
        );
        assert_eq!(
            not_svg.kind(),
            None,
            "XML that is not an SVG is not accepted as one"
        );
    }

    // -- by name --------------------------------------------------------------------------------

    #[test]
    fn detect_by_name_knows_every_table_extension_in_any_case() {
        for row in FORMAT_TABLE {
            for extension in row.extensions {
                for name in [
                    format!("file.{extension}"),
                    format!("My File.{}", extension.to_uppercase()),
                ] {
                    assert_eq!(detect_by_name(&name), row.detection(), "{name}");
                }
            }
        }
    }

    #[test]
    fn detect_by_name_refuses_unknown_and_missing_extensions() {
        for name in ["notes.xyz", "README", ".bashrc", "photo.", ".jpg", "Icon\r"] {
            assert_refused(&detect_by_name(name), CATEGORY_UNKNOWN_TYPE, name);
        }
        assert_eq!(detect_by_name("data.json").mime, "application/json");
        assert_eq!(detect_by_name("README").format, "File without an extension");
    }

    #[test]
    fn detect_by_name_uses_the_last_extension_of_the_last_component() {
        assert_row(&detect_by_name("backup.tar.gz"), "Gzip archive", "tar.gz");
        assert_row(
            &detect_by_name("shoot.v2/IMG_0001.JPG"),
            "JPEG image",
            "path with dotted folder",
        );
        assert_row(
            &detect_by_name(".hidden.mov"),
            "QuickTime video",
            "dotfile with extension",
        );
        assert!(detect_by_name("clip.MP4").is_video());
    }

    #[test]
    fn table_names_and_extensions_are_unique_and_lower_case() {
        let mut names = std::collections::HashSet::new();
        let mut extensions = std::collections::HashSet::new();
        for row in FORMAT_TABLE {
            assert!(names.insert(row.name), "duplicate row name {}", row.name);
            for extension in row.extensions {
                assert!(
                    extensions.insert(*extension),
                    "extension .{extension} in two rows"
                );
                assert_eq!(*extension, extension.to_ascii_lowercase(), "{extension}");
            }
        }
    }

    #[test]
    fn every_brief_format_has_a_row_of_the_right_kind() {
        let expected: [(FileKind, &[&str]); 5] = [
            (
                FileKind::Image,
                &[
                    "jpg", "png", "gif", "webp", "tiff", "bmp", "heic", "heif", "avif", "svg",
                    "psd", "jxl", "cr2", "cr3", "nef", "arw", "dng", "orf", "rw2", "raf", "pef",
                    "srw",
                ],
            ),
            (
                FileKind::Video,
                &[
                    "mp4", "mov", "m4v", "avi", "mkv", "webm", "mpeg", "3gp", "wmv", "flv", "mts",
                    "m2ts",
                ],
            ),
            (
                FileKind::Audio,
                &["mp3", "wav", "aac", "m4a", "flac", "ogg", "opus", "aiff"],
            ),
            (
                FileKind::Document,
                &[
                    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "txt",
                    "csv", "rtf", "md",
                ],
            ),
            (
                FileKind::Design,
                &["ai", "eps", "indd", "sketch", "ttf", "otf", "woff", "woff2"],
            ),
        ];
        for (kind, extensions) in expected {
            for extension in extensions {
                assert_eq!(
                    detect_by_name(&format!("x.{extension}")).kind(),
                    Some(kind),
                    "{extension}"
                );
            }
        }
        for (category, extensions) in [
            (CATEGORY_EXECUTABLE, &["exe", "dll"][..]),
            (CATEGORY_SCRIPT, &["sh", "bat", "ps1", "php", "js", "py"]),
            (CATEGORY_WEB_PAGE, &["html", "htm"]),
            (
                CATEGORY_ARCHIVE,
                &["zip", "rar", "7z", "tar", "gz", "bz2", "xz"],
            ),
            (CATEGORY_DISK_IMAGE, &["iso", "dmg", "vhd", "vmdk", "qcow2"]),
        ] {
            for extension in extensions {
                assert_refused(
                    &detect_by_name(&format!("x.{extension}")),
                    category,
                    extension,
                );
            }
        }
    }

    // -- files on disk -----------------------------------------------------------------------------

    struct CountingReader<R> {
        inner: R,
        bytes_read: u64,
    }

    impl<R: Read> Read for CountingReader<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let read = self.inner.read(buf)?;
            self.bytes_read += read as u64;
            Ok(read)
        }
    }

    impl<R: Seek> Seek for CountingReader<R> {
        fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
            self.inner.seek(position)
        }
    }

    fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write sample");
        path
    }

    #[test]
    fn detect_file_agrees_with_detect_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let samples = [
            ("photo.jpg", jpeg()),
            ("clip.jpg", mp4_video()),
            ("report.docx", docx()),
            ("logo.ai", pdf()),
            ("setup.jpg", windows_executable()),
            ("empty.txt", Vec::new()),
            ("page.html", b"<p>hi</p>".to_vec()),
        ];
        for (name, bytes) in &samples {
            let path = write_temp(&dir, "sample", bytes);
            let from_file = detect_file(&path, name).expect("detect file");
            assert_eq!(from_file, detect_bytes(bytes, name), "{name}");
        }
        assert!(detect_file(&dir.path().join("missing"), "missing.jpg").is_err());
    }

    #[test]
    fn huge_video_is_detected_from_a_few_reads() {
        const HUGE_LEN: u64 = 200 * MIB;
        const MOST_BYTES_READ: u64 = MIB;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("holiday");
        let mut file = File::create(&path).expect("create");
        let mut header = ftyp(b"isom", &[b"isom", b"mp41"]);
        header.extend(moov_with_track(b"vide"));
        header.extend_from_slice(&1u32.to_be_bytes()); // size 1: a 64-bit size follows
        header.extend_from_slice(b"mdat");
        let mdat_len = HUGE_LEN - header.len() as u64 + 8;
        header.extend_from_slice(&mdat_len.to_be_bytes());
        file.write_all(&header).expect("write header");
        file.set_len(HUGE_LEN).expect("grow to 200 MiB");
        drop(file);

        let detection = detect_file(&path, "holiday.jpg").expect("detect");
        assert_row(&detection, "MP4 video", "200 MiB MP4");

        let mut counting = CountingReader {
            inner: File::open(&path).expect("open"),
            bytes_read: 0,
        };
        assert_eq!(
            detect_reader(&mut counting, "holiday.jpg").expect("detect"),
            detection
        );
        assert!(
            counting.bytes_read < MOST_BYTES_READ,
            "read {} bytes of a {HUGE_LEN}-byte file",
            counting.bytes_read
        );
    }

    #[test]
    fn container_readers_stop_at_the_read_budget() {
        // Larger than the budget, no Illustrator marker: the PDF reader would scan all of it.
        let mut big_pdf = pdf();
        big_pdf.resize((DEEP_READ_BUDGET + 2 * MIB) as usize, b' ');
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write_temp(&dir, "big", &big_pdf);
        for (name, row) in [
            ("brochure.pdf", "PDF document"),
            ("poster.ai", "Illustrator artwork"),
        ] {
            let mut counting = CountingReader {
                inner: File::open(&path).expect("open"),
                bytes_read: 0,
            };
            assert_row(
                &detect_reader(&mut counting, name).expect("detect"),
                row,
                name,
            );
            assert!(
                counting.bytes_read <= DEEP_READ_BUDGET + HEAD_LEN as u64,
                "read {} bytes",
                counting.bytes_read
            );
        }
    }

    #[test]
    fn cut_short_mp4_is_still_a_video() {
        let whole = mp4_video();
        // Cut inside the moov box: the track reader fails, the brand still speaks.
        let cut = &whole[..ftyp(b"isom", &[b"isom", b"iso2", b"mp41"]).len() + 6];
        assert!(detect_bytes(cut, "clip.mp4").is_video());
    }

    // -- the README table -------------------------------------------------------------------------

    #[test]
    fn markdown_table_lists_every_row_supported_kinds_first() {
        let markdown = support_table_markdown();
        let lines: Vec<&str> = markdown.lines().collect();
        assert_eq!(lines[0], "| Kind | Formats | Extensions |");
        assert_eq!(lines.len(), 2 + FORMAT_TABLE.len(), "one line per row");
        for row in FORMAT_TABLE {
            let line = lines
                .iter()
                .find(|line| line.contains(&format!("| {} |", row.name)))
                .unwrap_or_else(|| panic!("{} missing", row.name));
            for extension in row.extensions {
                assert!(
                    line.contains(&format!(".{extension}")),
                    "{line} lacks .{extension}"
                );
            }
        }
        let kind_order: Vec<&str> = lines[2..]
            .iter()
            .map(|line| line.split('|').nth(1).unwrap_or("").trim())
            .collect();
        let first_refused = kind_order
            .iter()
            .position(|kind| kind.starts_with("Not supported"))
            .expect("refused rows");
        assert!(
            kind_order[first_refused..]
                .iter()
                .all(|kind| kind.starts_with("Not supported"))
        );
        let supported: Vec<&str> = kind_order[..first_refused].to_vec();
        let mut sorted = supported.clone();
        sorted.sort_by_key(|label| FileKind::parse(label).map(|kind| kind as u8));
        assert_eq!(
            supported, sorted,
            "supported rows grouped in FileKind::ALL order"
        );
        assert!(
            supported
                .iter()
                .all(|label| FileKind::parse(label).is_some())
        );
    }
}
