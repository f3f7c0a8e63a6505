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
    bytes.extend_from_slice(
        b"\x00\x00\x00\x0DIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xDE",
    );
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
    let mut bytes = b"\xCF\xFA\xED\xFE\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00".to_vec();
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
    let svg =
        br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#;
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
fn script_extensions_are_refused_by_name_and_by_content() {
    for (name, row) in [
        ("backup.pl", "Perl script"),
        ("Helpers.pm", "Perl script"),
        ("deploy.rb", "Ruby script"),
        ("init.lua", "Lua script"),
        ("build.tcl", "Tcl script"),
        ("app.desktop", "Linux desktop launcher"),
        ("count.awk", "AWK script"),
        ("config.fish", "Shell script"),
        ("open.applescript", "AppleScript"),
        ("update.hta", "HTML application"),
        ("run.jse", "Windows Script Host script"),
    ] {
        assert_row(&detect_by_name(name), row, name);
        // No interpreter line, nothing in the text gives it away: the extension alone refuses it.
        assert_row(&detect_bytes(b"print 1\n", name), row, name);
    }
}

#[test]
fn an_interpreter_line_makes_a_script_of_any_name() {
    for name in ["photo.jpg", "notes.txt", "clip.mov", "table.csv", "upload"] {
        let detection = detect_bytes(b"#!/usr/bin/env lua\nos.execute('id')\n", name);
        assert_refused(&detection, CATEGORY_SCRIPT, name);
        assert_eq!(detection.kind(), None, "{name}");
    }
}

#[test]
fn private_keys_and_credentials_are_refused_whatever_their_name() {
    let pem = |label: &str| {
        format!("-----BEGIN {label}PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END {label}PRIVATE KEY-----\n")
            .into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("PKCS#8", pem(""), "PEM private key"),
        ("RSA", pem("RSA "), "PEM private key"),
        ("EC", pem("EC "), "PEM private key"),
        ("DSA", pem("DSA "), "PEM private key"),
        ("encrypted", pem("ENCRYPTED "), "PEM private key"),
        ("OpenSSH", pem("OPENSSH "), "SSH private key"),
        (
            "SSH2",
            b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\r\nComment: \"key\"\r\nP2/56w==\r\n".to_vec(),
            "SSH private key",
        ),
        (
            "PuTTY",
            b"PuTTY-User-Key-File-3: ssh-ed25519\r\nEncryption: none\r\n".to_vec(),
            "PuTTY private key",
        ),
        (
            "PGP",
            b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0=\n".to_vec(),
            "PGP private key",
        ),
        (
            "AWS credentials",
            b"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n".to_vec(),
            "AWS secret access key",
        ),
        (
            "AWS in an env file",
            b"REGION=eu-west-1\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n".to_vec(),
            "AWS secret access key",
        ),
        (
            "key pasted into notes, after a BOM",
            [UTF8_BOM, b"Server login, keep safe:\n\n", &pem("RSA ")].concat(),
            "PEM private key",
        ),
    ];
    for (case, bytes, row) in &cases {
        for name in ["notes.txt", "README.md", "key.ppk", "id_rsa", "photo.jpg"] {
            let detection = detect_bytes(bytes, name);
            assert_row(&detection, row, &format!("{case} named {name}"));
            assert_refused(&detection, CATEGORY_CREDENTIALS, case);
        }
    }
    assert_row(
        &detect_by_name("server.ppk"),
        "PuTTY private key",
        "by name",
    );
    // Public halves, and text that only talks about keys, are ordinary text.
    for (case, text) in [
        (
            "public key",
            &b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ==\n"[..],
        ),
        ("certificate", b"-----BEGIN CERTIFICATE-----\nMIIB\n"),
        (
            "prose",
            b"Never mail the PRIVATE KEY-----BEGIN marker to anyone.\n",
        ),
        ("empty template", b"[default]\naws_secret_access_key =\n"),
    ] {
        assert_row(&detect_bytes(text, "notes.txt"), "Plain text", case);
    }
}

#[test]
fn text_without_a_text_extension_is_not_plain_text() {
    let notes = b"Call the printer on Monday.\n";
    for name in ["notes", "config.json", "server.log", "data.xyz", "Makefile"] {
        let detection = detect_bytes(notes, name);
        assert_refused(&detection, CATEGORY_TEXT_WITHOUT_TEXT_NAME, name);
        assert_ne!(detection.format, "Plain text", "{name}");
    }
    assert_eq!(
        detect_bytes(notes, "notes").format,
        "Plain text without an extension"
    );
    assert_eq!(
        detect_bytes(notes, "config.json").format,
        "Plain text with a .json name"
    );
    for (name, row) in [
        ("notes.txt", "Plain text"),
        ("NOTES.TEXT", "Plain text"),
        ("notes.md", "Markdown text"),
        ("notes.markdown", "Markdown text"),
        ("notes.csv", "CSV table"),
    ] {
        assert_row(&detect_bytes(notes, name), row, name);
    }
}

#[test]
fn format_names_read_naturally_in_a_sentence() {
    for (format, phrase) in [
        ("Empty file", "an empty file"),
        ("Unknown binary data", "unknown binary data"),
        ("Plain text with a .jpg name", "plain text with a .jpg name"),
        ("Windows executable", "a Windows executable"),
        ("Shell script", "a shell script"),
        (
            "Script (#! interpreter line)",
            "a script (#! interpreter line)",
        ),
        ("Web page (HTML)", "a web page (HTML)"),
        ("App package", "an app package"),
        ("MP4 video", "an MP4 video"),
        ("MS-DOS Executable", "an MS-DOS Executable"),
        ("SSH private key", "an SSH private key"),
        ("PEM private key", "a PEM private key"),
        ("RAR archive", "a RAR archive"),
        ("XZ archive", "an XZ archive"),
        ("ISO disc image", "an ISO disc image"),
        ("7-Zip archive", "a 7-Zip archive"),
        ("Universal 3D", "a Universal 3D"),
        ("OpenDocument Formula", "an OpenDocument Formula"),
    ] {
        assert_eq!(format_in_sentence(format), phrase, "{format}");
    }
}

#[test]
fn web_pages_are_refused_by_start_or_by_name() {
    let cases: [(&[u8], &str); 5] = [
        (b"<!DOCTYPE html><html></html>", "page.txt"),
        (b"  \n<HTML><BODY>x</BODY></HTML>", "upload"),
        (
            b"<!-- saved from url=(0014)about:internet -->\n<html></html>",
            "page.svg",
        ),
        (
            b"<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><svg/></html>",
            "icon.svg",
        ),
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
    let mz_text = b"MZ Records catalogue, 2024 edition: vinyl, tapes and the odd compact disc.\n";
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
                "jpg", "png", "gif", "webp", "tiff", "bmp", "heic", "heif", "avif", "svg", "psd",
                "jxl", "cr2", "cr3", "nef", "arw", "dng", "orf", "rw2", "raf", "pef", "srw",
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
        (
            CATEGORY_SCRIPT,
            &[
                "sh", "bat", "ps1", "php", "js", "py", "pl", "rb", "lua", "tcl", "desktop",
            ],
        ),
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
