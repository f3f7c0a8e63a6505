//! What a file says about itself, read from its bytes with kept parsers (README.md, "File
//! metadata"): pixel size and orientation, capture time, camera, lens and whether it carries
//! GPS for images (JPEG, TIFF, HEIC/HEIF, WebP, PNG, camera RAW); duration, frame size and codec
//! for ISO-media (MP4, MOV, M4V, 3GP, M4A) and Matroska/WebM; page count for PDF.
//!
//! Extraction never fails the caller: a file that cannot be read is [`Outcome::Unreadable`] with
//! whatever was read. Hostile bytes are bounded:
//! - **memory**: each parser sees a window of the file, not the file — images their first
//!   [`IMAGE_WINDOW`] bytes, Matroska its first [`MATROSKA_WINDOW`] (with no tag above
//!   [`MATROSKA_MAX_TAG`]), ISO-media only its movie box, refused above [`MOOV_MAX`] (the box
//!   headers before it are skipped by seeking, at most [`MAX_TOP_BOXES`] of them); a PDF above
//!   [`PDF_MAX`] is not read at all;
//! - **time**: [`extract_file_within`] runs the parsers on a thread of their own and stops
//!   waiting after a budget ([`BUDGET`]); a file that takes longer is [`Outcome::TimedOut`] and
//!   is never tried again;
//! - **panics** in a parser are caught and count as unreadable.

use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use file_format::{FileFormat, Kind};

/// Images: EXIF and the pixel size are read from this much of the file's head.
pub const IMAGE_WINDOW: u64 = 64 << 20;
/// Matroska/WebM: segment info and tracks come before the first cluster, within this.
pub const MATROSKA_WINDOW: u64 = 16 << 20;
/// Matroska/WebM: the largest element read into memory.
pub const MATROSKA_MAX_TAG: usize = 4 << 20;
/// ISO-media: the largest movie box read (a two-hour film's is a few MiB).
pub const MOOV_MAX: u64 = 64 << 20;
/// ISO-media: top-level boxes walked looking for the movie box.
pub const MAX_TOP_BOXES: usize = 4096;
/// PDF: the largest document read for its page count (it is read whole, to its xref table).
pub const PDF_MAX: u64 = 128 << 20;
/// How long one file's extraction may take before it is given up.
pub const BUDGET: Duration = Duration::from_secs(5);
/// Longest text kept from a tag (camera, lens).
const MAX_TEXT: usize = 128;

/// Set to `off` to skip extraction on import and upload, and the engine's fill-in (for the
/// A/B benchmark `benches/metadata_cost.sh` only; not a documented setting).
pub const SWITCH_ENV: &str = "SMARTIMAGE_METADATA";

/// Whether extraction runs (see [`SWITCH_ENV`]).
pub fn enabled() -> bool {
    std::env::var(SWITCH_ENV).map_or(true, |v| v != "off")
}

/// The fields read; `None` where the file does not say (or its format has no such thing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileMetadata {
    /// Pixel size as displayed: an EXIF rotation by a quarter turn (or a video track turned by
    /// one) swaps the stored width and height.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// EXIF orientation, 1–8 (1 = as stored).
    pub orientation: Option<u8>,
    /// When it was taken: `YYYY-MM-DDTHH:MM:SS` in the camera's local time, with its offset
    /// when the file gives one (`+02:00`), `Z` for video containers (they record UTC).
    pub taken_at: Option<String>,
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub lens: Option<String>,
    /// Whether the file carries a GPS position (`None`: its metadata could not be read).
    pub has_gps: Option<bool>,
    /// The position, decimal degrees (latitude, longitude); shown to owners and operators only.
    pub gps: Option<(f64, f64)>,
    pub duration_ms: Option<u64>,
    pub video_codec: Option<String>,
    pub pages: Option<u32>,
}

impl FileMetadata {
    fn is_empty(&self) -> bool {
        *self == FileMetadata::default()
    }

    /// When it was taken as the camera's clock says, `YYYY-MM-DDTHH:MM:SS` without the zone:
    /// what All Files sorts and filters by (a photographer's "the 12th" is their local 12th).
    pub fn capture_time(&self) -> Option<&str> {
        self.taken_at.as_deref()?.get(..19)
    }

    /// Make and model as one name (`Canon EOS R5`, not `Canon Canon EOS R5`): the camera
    /// filter's value.
    pub fn camera(&self) -> Option<String> {
        let make = self.camera_make.as_deref().map(str::trim).unwrap_or("");
        let model = self.camera_model.as_deref().map(str::trim).unwrap_or("");
        let name = if make.is_empty()
            || model
                .get(..make.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(make))
        {
            model.to_owned()
        } else if model.is_empty() {
            make.to_owned()
        } else {
            format!("{make} {model}")
        };
        (!name.is_empty()).then_some(name)
    }

    /// `landscape`, `portrait` or `square` from the displayed size.
    pub fn shape(&self) -> Option<&'static str> {
        let (w, h) = (self.width?, self.height?);
        Some(match w.cmp(&h) {
            std::cmp::Ordering::Greater => "landscape",
            std::cmp::Ordering::Less => "portrait",
            std::cmp::Ordering::Equal => "square",
        })
    }
}

/// How an extraction ended (stored beside the fields: a file with a row is never read again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Something was read.
    Read,
    /// A format with nothing we read (or the file says nothing).
    Nothing,
    /// The parser refused the file (damaged, hostile, unsupported variant).
    Unreadable,
    /// Over the size limits of its format.
    TooLarge,
    /// Over [`BUDGET`].
    TimedOut,
    /// The blob was not there to read.
    Missing,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Read => "read",
            Outcome::Nothing => "nothing",
            Outcome::Unreadable => "unreadable",
            Outcome::TooLarge => "too_large",
            Outcome::TimedOut => "timed_out",
            Outcome::Missing => "missing",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Read,
            Outcome::Nothing,
            Outcome::Unreadable,
            Outcome::TooLarge,
            Outcome::TimedOut,
            Outcome::Missing,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Extracted {
    pub outcome: Outcome,
    pub metadata: FileMetadata,
}

impl Extracted {
    fn just(outcome: Outcome) -> Extracted {
        Extracted {
            outcome,
            metadata: FileMetadata::default(),
        }
    }

    /// `Read` if anything was read, else `otherwise`.
    fn of(metadata: FileMetadata, otherwise: Outcome) -> Extracted {
        let outcome = if metadata.is_empty() {
            otherwise
        } else {
            Outcome::Read
        };
        Extracted { outcome, metadata }
    }
}

/// Extract from a file on disk, on a thread of its own, waiting at most `budget`.
pub fn extract_file_within(path: &Path, budget: Duration) -> Extracted {
    let owned: PathBuf = path.to_owned();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("metadata".into())
        .spawn(move || {
            let _ = tx.send(extract_file(&owned));
        });
    if spawned.is_err() {
        return Extracted::just(Outcome::Unreadable);
    }
    match rx.recv_timeout(budget) {
        Ok(extracted) => extracted,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            tracing::warn!(path = %path.display(), "metadata extraction ran over its time budget");
            Extracted::just(Outcome::TimedOut)
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Extracted::just(Outcome::Unreadable)
        }
    }
}

/// Extract from many files (`None`: no such blob), in order, each within `budget`: one worker
/// thread reads them one after another (a thread per file cost more than reading a small
/// file); a file that runs over its budget is left to its worker, marked timed out, and a new
/// worker goes on with the next.
pub fn extract_files_within(paths: &[Option<PathBuf>], budget: Duration) -> Vec<Extracted> {
    let mut read = Vec::with_capacity(paths.len());
    while read.len() < paths.len() {
        let rest: Vec<Option<PathBuf>> = paths[read.len()..].to_vec();
        let (tx, rx) = std::sync::mpsc::sync_channel(rest.len());
        let spawned = std::thread::Builder::new()
            .name("metadata".into())
            .spawn(move || {
                for path in rest {
                    let extracted = match path {
                        Some(path) => extract_file(&path),
                        None => Extracted::just(Outcome::Missing),
                    };
                    // Gone: the reader moved on after this worker ran over a budget.
                    if tx.send(extracted).is_err() {
                        return;
                    }
                }
            });
        if spawned.is_err() {
            read.resize_with(paths.len(), || Extracted::just(Outcome::Unreadable));
            break;
        }
        while read.len() < paths.len() {
            match rx.recv_timeout(budget) {
                Ok(extracted) => read.push(extracted),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    tracing::warn!("metadata extraction ran over its time budget");
                    read.push(Extracted::just(Outcome::TimedOut));
                    break;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    read.push(Extracted::just(Outcome::Unreadable));
                    break;
                }
            }
        }
    }
    read
}

/// Extract from a file on disk, on this thread.
pub fn extract_file(path: &Path) -> Extracted {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Extracted::just(Outcome::Missing),
        Err(_) => return Extracted::just(Outcome::Unreadable),
    };
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(_) => return Extracted::just(Outcome::Unreadable),
    };
    extract(BufReader::with_capacity(64 << 10, file), len)
}

/// Extract from bytes in memory (the fuzzing entry point: the same code as for files).
pub fn extract_bytes(bytes: &[u8]) -> Extracted {
    extract(Cursor::new(bytes), bytes.len() as u64)
}

/// Extract from any seekable source of `len` bytes, on this thread.
pub fn extract<R: Read + Seek>(mut source: R, len: u64) -> Extracted {
    let mut head = vec![0u8; 4096.min(len as usize)];
    if source.read_exact(&mut head).is_err() || source.seek(SeekFrom::Start(0)).is_err() {
        return Extracted::just(Outcome::Unreadable);
    }
    let format = FileFormat::from_bytes(&head);
    let run = |f: &mut dyn FnMut() -> Extracted| {
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Extracted::just(Outcome::Unreadable))
    };
    match classify(format) {
        Class::Image => run(&mut || image(Window::new(&mut source, len.min(IMAGE_WINDOW)))),
        Class::IsoMedia => run(&mut || iso_media(&mut source, len)),
        Class::Matroska => {
            run(&mut || matroska(Window::new(&mut source, len.min(MATROSKA_WINDOW))))
        }
        Class::Pdf => run(&mut || pdf(&mut source, len)),
        Class::Other => Extracted::just(Outcome::Nothing),
    }
}

enum Class {
    Image,
    IsoMedia,
    Matroska,
    Pdf,
    Other,
}

fn classify(format: FileFormat) -> Class {
    use FileFormat as F;
    match format {
        F::PortableDocumentFormat => Class::Pdf,
        F::MatroskaVideo | F::MatroskaAudio | F::Matroska3dVideo | F::Webm => Class::Matroska,
        F::AppleQuicktime
        | F::AppleItunesVideo
        | F::AppleItunesAudio
        | F::AppleItunesAudiobook
        | F::Mpeg4Part14
        | F::Mpeg4Part14Video
        | F::Mpeg4Part14Audio
        | F::ThirdGenerationPartnershipProject
        | F::ThirdGenerationPartnershipProject2 => Class::IsoMedia,
        f if f.kind() == Kind::Image => Class::Image,
        _ => Class::Other,
    }
}

/// The first `len` bytes of a source, as a source of its own: reads stop at `len`, so a parser
/// given a window never reads (nor buffers) past it.
struct Window<R> {
    inner: R,
    len: u64,
    pos: u64,
}

impl<R: Read + Seek> Window<R> {
    fn new(mut inner: R, len: u64) -> Window<R> {
        let _ = inner.seek(SeekFrom::Start(0));
        Window { inner, len, pos: 0 }
    }
}

impl<R: Read + Seek> Read for Window<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..take])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Window<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        // Past the window reads nothing; the inner source is not moved there.
        self.inner.seek(SeekFrom::Start(target.min(self.len)))?;
        self.pos = target;
        Ok(target)
    }
}

/// Images: the pixel size (imagesize) and EXIF (nom-exif).
fn image<R: Read + Seek>(mut source: Window<R>) -> Extracted {
    let mut md = FileMetadata::default();
    let mut refused = false;
    let size = catch_unwind(AssertUnwindSafe(|| {
        let _ = source.seek(SeekFrom::Start(0));
        imagesize::reader_size(BufReader::new(&mut source))
    }));
    match size {
        Ok(Ok(size)) => {
            md.width = u32::try_from(size.width).ok().filter(|w| *w > 0);
            md.height = u32::try_from(size.height).ok().filter(|h| *h > 0);
        }
        _ => refused = true,
    }
    let exif = catch_unwind(AssertUnwindSafe(|| {
        source.seek(SeekFrom::Start(0))?;
        let ms = nom_exif::MediaSource::seekable(&mut source)?;
        let mut parser = nom_exif::MediaParser::new();
        let iter = parser.parse_exif(ms)?;
        Ok::<_, nom_exif::Error>(nom_exif::Exif::from(iter))
    }));
    match exif {
        Ok(Ok(exif)) => read_exif(&exif, &mut md),
        // No EXIF at all (a PNG without it, a screenshot): no GPS either.
        Ok(Err(nom_exif::Error::ExifNotFound)) if !refused => md.has_gps = Some(false),
        Ok(Err(_)) | Err(_) => refused = true,
    }
    if matches!(md.orientation, Some(5..=8)) {
        std::mem::swap(&mut md.width, &mut md.height);
    }
    Extracted::of(
        md,
        if refused {
            Outcome::Unreadable
        } else {
            Outcome::Nothing
        },
    )
}

fn read_exif(exif: &nom_exif::Exif, md: &mut FileMetadata) {
    use nom_exif::ExifTag as T;
    let text = |tag| exif.get(tag).and_then(|v| v.as_str()).and_then(clean_text);
    md.camera_make = text(T::Make);
    md.camera_model = text(T::Model);
    md.lens = text(T::LensModel);
    md.orientation = exif
        .get(T::Orientation)
        .and_then(|v| v.try_as_integer())
        .and_then(|o| u8::try_from(o).ok())
        .filter(|o| (1..=8).contains(o));
    md.taken_at = [T::DateTimeOriginal, T::CreateDate]
        .into_iter()
        .find_map(|tag| exif.get(tag).and_then(|v| v.as_datetime()))
        .map(|dt| match dt {
            nom_exif::ExifDateTime::Aware(dt) => dt.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            nom_exif::ExifDateTime::Naive(dt) => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
        });
    match exif.gps_info() {
        Some(gps) => {
            md.has_gps = Some(true);
            let degrees = |l: &nom_exif::LatLng| -> Option<f64> {
                Some(
                    l.degrees.to_f64()? + l.minutes.to_f64()? / 60.0 + l.seconds.to_f64()? / 3600.0,
                )
            };
            md.gps = match (degrees(&gps.latitude), degrees(&gps.longitude)) {
                (Some(lat), Some(lon)) => {
                    let (lat, lon) = (
                        lat * gps.latitude_ref.sign(),
                        lon * gps.longitude_ref.sign(),
                    );
                    (lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0)
                        .then_some((lat, lon))
                }
                _ => None,
            };
        }
        None => md.has_gps = Some(false),
    }
}

/// Tag text as shown: NULs and surrounding blanks gone, control characters dropped, at most
/// [`MAX_TEXT`] characters; nothing left is no value.
fn clean_text(s: &str) -> Option<String> {
    let cleaned: String = s
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// ISO-media: the top-level boxes are walked by their headers (mp4-atom), seeking over media
/// data, to the movie box, which alone is decoded.
fn iso_media<R: Read + Seek>(source: &mut R, len: u64) -> Extracted {
    use mp4_atom::{Atom, Header, Moov, ReadAtom, ReadFrom};
    let mut at = 0u64;
    for _ in 0..MAX_TOP_BOXES {
        if at >= len || source.seek(SeekFrom::Start(at)).is_err() {
            break;
        }
        let header = match <Option<Header> as ReadFrom>::read_from(&mut *source) {
            Ok(Some(header)) => header,
            Ok(None) => break,
            Err(_) => return Extracted::just(Outcome::Unreadable),
        };
        let Ok(body) = source.stream_position() else {
            break;
        };
        let size = header.size.map_or(len.saturating_sub(body), |s| s as u64);
        if header.kind == Moov::KIND {
            if size > MOOV_MAX {
                return Extracted::just(Outcome::TooLarge);
            }
            return match Moov::read_atom(&header, &mut Read::take(&mut *source, size)) {
                Ok(moov) => Extracted::of(from_moov(&moov), Outcome::Nothing),
                Err(_) => Extracted::just(Outcome::Unreadable),
            };
        }
        match body.checked_add(size) {
            Some(next) if next > at => at = next,
            _ => break,
        }
    }
    Extracted::just(Outcome::Unreadable)
}

fn from_moov(moov: &mp4_atom::Moov) -> FileMetadata {
    let mut md = FileMetadata::default();
    let mvhd = &moov.mvhd;
    if mvhd.timescale > 0 {
        md.duration_ms =
            u64::try_from(u128::from(mvhd.duration) * 1000 / u128::from(mvhd.timescale)).ok();
    }
    md.taken_at = since_1904(mvhd.creation_time);
    let video = moov.trak.iter().find(|t| {
        t.mdia.hdlr.handler == mp4_atom::FourCC::new(b"vide")
            || t.mdia
                .minf
                .stbl
                .stsd
                .codecs
                .iter()
                .any(|c| c.visual().is_some())
    });
    if let Some(trak) = video {
        let codec = trak.mdia.minf.stbl.stsd.codecs.first();
        md.video_codec = codec.map(iso_codec_name);
        let (mut w, mut h) = match codec.and_then(|c| c.visual()) {
            Some(v) if v.width > 0 && v.height > 0 => (u32::from(v.width), u32::from(v.height)),
            _ => (
                u32::from(trak.tkhd.width.integer()),
                u32::from(trak.tkhd.height.integer()),
            ),
        };
        // A track turned a quarter (a phone held upright): a = d = 0 in its matrix.
        let m = &trak.tkhd.matrix;
        if m.a == 0 && m.d == 0 && m.b != 0 && m.c != 0 {
            std::mem::swap(&mut w, &mut h);
        }
        md.width = (w > 0).then_some(w);
        md.height = (h > 0).then_some(h);
    }
    md
}

/// Unix seconds to the shown form, for times that are UTC.
fn utc_text(unix: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    // A zero or garbage time is no time.
    if !(1971..=2200).contains(&at.year()) {
        return None;
    }
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .ok()
}

/// QuickTime/ISO times count seconds from 1904-01-01 UTC.
fn since_1904(seconds: u64) -> Option<String> {
    const FROM_1904_TO_1970: i64 = 2_082_844_800;
    utc_text(
        i64::try_from(seconds)
            .ok()?
            .checked_sub(FROM_1904_TO_1970)?,
    )
}

fn iso_codec_name(codec: &mp4_atom::Codec) -> String {
    use mp4_atom::Codec as C;
    match codec {
        C::Avc1(_) | C::Avc3(_) => "h264".into(),
        C::Hev1(_) | C::Hvc1(_) => "hevc".into(),
        C::Vp08(_) => "vp8".into(),
        C::Vp09(_) => "vp9".into(),
        C::Av01(_) => "av1".into(),
        C::Jpeg(_) => "mjpeg".into(),
        C::Uncv(_) => "uncompressed".into(),
        C::Unknown(fourcc, _) => fourcc_name(&fourcc.to_string()),
        other => format!("{other:?}")
            .split('(')
            .next()
            .unwrap_or("unknown")
            .to_lowercase(),
    }
}

/// Sample-entry codes we know by name; any other is shown as its code.
fn fourcc_name(code: &str) -> String {
    match code {
        "apch" | "apcn" | "apcs" | "apco" | "ap4h" | "ap4x" => "prores".into(),
        "dvh1" | "dvhe" => "hevc".into(),
        "mp4v" => "mpeg4".into(),
        "s263" | "h263" => "h263".into(),
        other => clean_text(other).unwrap_or_else(|| "unknown".into()),
    }
}

/// Matroska/WebM: elements are read in order (webm-iterable) up to the first cluster (the
/// media data): segment info and tracks.
fn matroska<R: Read + Seek>(source: Window<R>) -> Extracted {
    use webm_iterable::WebmIterator;
    use webm_iterable::matroska_spec::{Master, MatroskaSpec as M};
    let mut tags = WebmIterator::new(source, &[]);
    tags.set_max_allowable_tag_size(Some(MATROSKA_MAX_TAG));
    let mut md = FileMetadata::default();
    let mut scale_ns: u64 = 1_000_000;
    let mut duration: Option<f64> = None;
    #[derive(Default)]
    struct Track {
        kind: u64,
        codec: Option<String>,
        width: u64,
        height: u64,
    }
    let mut track = Track::default();
    let mut video: Option<Track> = None;
    let mut refused = false;
    for tag in tags.take(100_000) {
        let tag = match tag {
            Ok(tag) => tag,
            Err(_) => {
                refused = true;
                break;
            }
        };
        match tag {
            M::Cluster(Master::Start) | M::Cluster(Master::Full(_)) => break,
            M::TimestampScale(s) if s > 0 => scale_ns = s,
            M::Duration(d) => duration = Some(d),
            M::DateUTC(ns) => {
                // Nanoseconds from 2001-01-01 UTC.
                md.taken_at = utc_text(978_307_200 + ns / 1_000_000_000);
            }
            M::TrackEntry(Master::Start) => track = Track::default(),
            M::TrackType(t) => track.kind = t,
            M::CodecID(id) => track.codec = Some(id),
            M::PixelWidth(w) => track.width = w,
            M::PixelHeight(h) => track.height = h,
            M::TrackEntry(Master::End) if track.kind == 1 && video.is_none() => {
                video = Some(std::mem::take(&mut track));
            }
            _ => {}
        }
    }
    if let Some(d) = duration {
        let ms = d * scale_ns as f64 / 1e6;
        if (0.0..1e15).contains(&ms) {
            md.duration_ms = Some(ms as u64);
        }
    }
    if let Some(v) = video {
        md.video_codec = v.codec.as_deref().map(matroska_codec_name);
        md.width = u32::try_from(v.width).ok().filter(|w| *w > 0);
        md.height = u32::try_from(v.height).ok().filter(|h| *h > 0);
    }
    Extracted::of(
        md,
        if refused {
            Outcome::Unreadable
        } else {
            Outcome::Nothing
        },
    )
}

fn matroska_codec_name(id: &str) -> String {
    match id {
        "V_MPEG4/ISO/AVC" => "h264".into(),
        "V_MPEGH/ISO/HEVC" => "hevc".into(),
        "V_VP8" => "vp8".into(),
        "V_VP9" => "vp9".into(),
        "V_AV1" => "av1".into(),
        "V_MPEG4/ISO/SP" | "V_MPEG4/ISO/ASP" | "V_MPEG4/ISO/AP" => "mpeg4".into(),
        "V_MPEG2" => "mpeg2".into(),
        "V_PRORES" => "prores".into(),
        "V_MJPEG" => "mjpeg".into(),
        other => clean_text(&other.trim_start_matches("V_").to_lowercase())
            .unwrap_or_else(|| "unknown".into()),
    }
}

/// PDF: the page count from the cross-reference table and page tree (lopdf), the document
/// read whole.
fn pdf<R: Read + Seek>(source: &mut R, len: u64) -> Extracted {
    if len > PDF_MAX {
        return Extracted::just(Outcome::TooLarge);
    }
    let mut buffer = Vec::new();
    if Read::take(&mut *source, PDF_MAX)
        .read_to_end(&mut buffer)
        .is_err()
    {
        return Extracted::just(Outcome::Unreadable);
    }
    match lopdf::Document::load_metadata_mem(&buffer) {
        Ok(meta) => {
            let md = FileMetadata {
                pages: Some(meta.page_count).filter(|p| *p > 0),
                ..FileMetadata::default()
            };
            Extracted::of(md, Outcome::Nothing)
        }
        Err(_) => Extracted::just(Outcome::Unreadable),
    }
}

#[doc(hidden)]
pub mod fixtures;
#[cfg(test)]
mod tests;
