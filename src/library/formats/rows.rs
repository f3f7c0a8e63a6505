//! The rows of the format table: one static per format, grouped by kind.

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
pub(super) static SHELL_SCRIPT: FormatRow = row("Shell script", SCRIPT, "text/x-shellscript", &["sh", "bash", "zsh", "ksh", "csh", "tcsh", "fish", "command"], SOLO);
pub(super) static BATCH_SCRIPT: FormatRow = row("Windows batch script", SCRIPT, "text/x-msdos-batch", &["bat", "cmd"], SOLO);
pub(super) static POWERSHELL_SCRIPT: FormatRow = row("PowerShell script", SCRIPT, "text/x-powershell", &["ps1", "psm1", "psd1"], SOLO);
pub(super) static WINDOWS_SCRIPT_HOST: FormatRow = row("Windows Script Host script", SCRIPT, "text/vbscript", &["vbs", "vbe", "wsf", "wsc", "jse"], SOLO);
pub(super) static PHP_SCRIPT: FormatRow = row("PHP script", SCRIPT, "application/x-httpd-php", &["php", "phtml", "phar"], SOLO);
pub(super) static JAVASCRIPT: FormatRow = row("JavaScript", SCRIPT, "text/javascript", &["js", "mjs", "cjs"], SOLO);
pub(super) static PYTHON_SCRIPT: FormatRow = row("Python script", SCRIPT, "text/x-python", &["py", "pyw"], SOLO);
pub(super) static PERL_SCRIPT: FormatRow = row("Perl script", SCRIPT, "text/x-perl", &["pl", "pm", "perl"], SOLO);
pub(super) static RUBY_SCRIPT: FormatRow = row("Ruby script", SCRIPT, "text/x-ruby", &["rb", "rbw", "rake"], SOLO);
pub(super) static LUA_SCRIPT: FormatRow = row("Lua script", SCRIPT, "text/x-lua", &["lua"], SOLO);
pub(super) static TCL_SCRIPT: FormatRow = row("Tcl script", SCRIPT, "text/x-tcl", &["tcl"], SOLO);
pub(super) static AWK_SCRIPT: FormatRow = row("AWK script", SCRIPT, "text/x-awk", &["awk"], SOLO);
pub(super) static APPLESCRIPT: FormatRow = row("AppleScript", SCRIPT, "application/x-applescript", &["applescript", "scpt"], SOLO);
pub(super) static HTML_APPLICATION: FormatRow = row("HTML application", SCRIPT, "application/hta", &["hta"], SOLO);
pub(super) static DESKTOP_LAUNCHER: FormatRow = row("Linux desktop launcher", SCRIPT, "application/x-desktop", &["desktop"], SOLO);
pub(super) static SHEBANG_SCRIPT: FormatRow = row("Script (#! interpreter line)", SCRIPT, "text/plain", &[], SOLO);
pub(super) static WEB_PAGE: FormatRow = row("Web page (HTML)", Support::Unsupported(CATEGORY_WEB_PAGE), "text/html", &["html", "htm", "xhtml", "shtml"], SOLO);

// Refused: secrets. Content decides, anywhere in the head (see `credentials_row`); only PuTTY's
// extension is unambiguous enough to refuse by name (`.pem` and `.key` also hold certificates
// and Keynote decks).
pub(super) static PEM_PRIVATE_KEY: FormatRow = row("PEM private key", CREDENTIALS, "application/x-pem-file", &[], SOLO);
pub(super) static SSH_PRIVATE_KEY: FormatRow = row("SSH private key", CREDENTIALS, "application/x-pem-file", &[], SOLO);
pub(super) static PUTTY_PRIVATE_KEY: FormatRow = row("PuTTY private key", CREDENTIALS, "application/x-putty-private-key", &["ppk"], SOLO);
pub(super) static PGP_PRIVATE_KEY: FormatRow = row("PGP private key", CREDENTIALS, "application/pgp-keys", &[], SOLO);
pub(super) static AWS_CREDENTIALS: FormatRow = row("AWS secret access key", CREDENTIALS, "text/plain", &[], SOLO);

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
