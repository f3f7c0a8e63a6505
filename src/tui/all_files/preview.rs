//! Image previews: decoded off the UI task with hard limits (a decompression bomb is refused,
//! never allocated), shrunk to a thumbnail and kept in a small cache. A blob is checked against
//! its sha256 before it is decoded: a damaged one shows a message, not a picture.

use std::io::{self, BufRead, BufReader, Seek};
use std::path::Path;
use std::sync::Arc;

use image::{DynamicImage, ImageReader, Limits};

use crate::library::blobs::BlobStore;
use crate::library::model::{FileId, FileRecord};

/// Widest or tallest image decoded; a header claiming more is refused before decoding.
pub const MAX_SIDE: u32 = 12_000;
/// Memory one decode may take.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// Blobs larger than this are not read for a preview.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Thumbnails are at most this many pixels on a side (terminal cells are big).
pub const THUMBNAIL_SIDE: u32 = 256;
/// Previews kept.
pub const CACHE_ENTRIES: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewRequest {
    pub file: FileId,
    pub sha256: String,
    pub size: u64,
}

#[derive(Clone, Debug)]
pub struct PreviewReply {
    pub file: FileId,
    pub image: Result<Arc<DynamicImage>, String>,
}

/// Set to `auto` to ask the terminal for a richer image protocol (kitty, sixel, iTerm2) at
/// start; anything else, or no answer, keeps halfblocks, which work over any SSH session.
pub const PROTOCOL_ENV: &str = "SMARTIMAGE_PREVIEW";

/// The terminal's best image protocol, if `SMARTIMAGE_PREVIEW=auto` asks for it. Call it after
/// entering the alternate screen and before reading input: it talks to the terminal (and waits
/// up to two seconds for a terminal that does not answer — hence opt-in).
pub fn terminal_picker() -> Option<ratatui_image::picker::Picker> {
    if std::env::var(PROTOCOL_ENV).ok()?.trim() != "auto" {
        return None;
    }
    ratatui_image::picker::Picker::from_query_stdio().ok()
}

/// Which files get an image preview (the rest show their details).
pub fn previewable(file: &FileRecord) -> bool {
    file.kind == "image"
        && matches!(
            file.mime.as_str(),
            "image/png" | "image/jpeg" | "image/gif" | "image/webp"
        )
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

fn too_large(size: u64) -> Result<(), String> {
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "too large to preview ({} MiB or more)",
            MAX_FILE_BYTES >> 20
        ));
    }
    Ok(())
}

/// Decode `path` within the limits and shrink it to a thumbnail.
pub fn decode(path: &Path, size: u64) -> Result<DynamicImage, String> {
    too_large(size)?;
    let reader = ImageReader::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    decode_from(reader)
}

/// Decode the library's blob `sha256` once its bytes are checked to be what the file's row
/// says (rehashed as a stream through the file that is then decoded): a damaged blob is
/// refused with a message, never shown as if it were the file.
pub fn decode_blob(blobs: &BlobStore, sha256: &str, size: u64) -> Result<DynamicImage, String> {
    too_large(size)?;
    let file = match blobs.open_verified(sha256) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(format!(
                "not shown: the library's copy of this file is damaged (its bytes do not match \
                 it): {e}"
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err("the file's content is not in the blob store".into());
        }
        Err(e) => return Err(format!("cannot read the file: {e}")),
    };
    decode_from(ImageReader::new(BufReader::new(file)))
}

fn decode_from<R: BufRead + Seek>(reader: ImageReader<R>) -> Result<DynamicImage, String> {
    let mut reader = reader
        .with_guessed_format()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    reader.limits(limits());
    let image = reader
        .decode()
        .map_err(|e| format!("cannot decode the image: {e}"))?;
    Ok(image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
}

/// Width and height from the image header only.
pub fn dimensions(path: &Path) -> Option<(u32, u32)> {
    let mut reader = ImageReader::open(path).ok()?.with_guessed_format().ok()?;
    reader.limits(limits());
    reader.into_dimensions().ok()
}

/// The newest previews, most recent last.
#[derive(Debug, Default)]
pub struct PreviewCache {
    entries: Vec<PreviewReply>,
    /// Asked for, not back yet.
    pending: Option<FileId>,
}

impl PreviewCache {
    pub fn get(&self, file: FileId) -> Option<&Result<Arc<DynamicImage>, String>> {
        self.entries
            .iter()
            .find(|e| e.file == file)
            .map(|e| &e.image)
    }

    pub fn is_pending(&self, file: FileId) -> bool {
        self.pending == Some(file)
    }

    /// Ask for `file` unless it is cached or already asked for.
    pub fn want(&mut self, file: &FileRecord) -> Option<PreviewRequest> {
        if !previewable(file) || self.get(file.id).is_some() || self.is_pending(file.id) {
            return None;
        }
        self.pending = Some(file.id);
        Some(PreviewRequest {
            file: file.id,
            sha256: file.sha256.clone(),
            size: file.size,
        })
    }

    pub fn insert(&mut self, reply: PreviewReply) {
        if self.pending == Some(reply.file) {
            self.pending = None;
        }
        self.entries.retain(|e| e.file != reply.file);
        self.entries.push(reply);
        if self.entries.len() > CACHE_ENTRIES {
            self.entries.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_claiming_a_huge_image_is_refused_without_decoding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.png");
        // A PNG header that claims 100,000 x 100,000 pixels.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend(100_000u32.to_be_bytes());
        png.extend(100_000u32.to_be_bytes());
        png.extend([8, 6, 0, 0, 0]);
        png.extend(crc32(&png[12..]).to_be_bytes());
        std::fs::write(&path, &png).unwrap();
        let err = decode(&path, png.len() as u64).unwrap_err();
        assert!(err.contains("cannot decode"), "{err}");
    }

    #[test]
    fn a_real_image_becomes_a_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.png");
        image::RgbImage::from_pixel(600, 300, image::Rgb([200, 10, 10]))
            .save(&path)
            .unwrap();
        let thumb = decode(&path, 1).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (256, 128));
        assert_eq!(dimensions(&path), Some((600, 300)));
    }

    #[test]
    fn a_blob_whose_bytes_do_not_match_is_refused_not_shown() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(&dir.path().join("blobs")).unwrap();
        let source = dir.path().join("red.png");
        image::RgbImage::from_pixel(40, 20, image::Rgb([200, 10, 10]))
            .save(&source)
            .unwrap();
        let blob = blobs.put_file(&source).unwrap();
        let thumb = decode_blob(&blobs, &blob.sha256, blob.size).unwrap();
        assert_eq!(thumb.width(), 2 * thumb.height());

        // One byte flipped at rest, in the pixel data: the image may still decode, but it is
        // not the file any more.
        let path = blobs.path(&blob).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let why = decode_blob(&blobs, &blob.sha256, blob.size).unwrap_err();
        assert!(why.contains("damaged"), "{why}");
        assert!(why.contains(&blob.sha256), "{why}");
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
