//! Small real files of each format, made byte for byte or with the crates that write them:
//! the fixtures of the metadata tests (unit, integration, fuzz seeds). Not for production use.

/// A TIFF value.
pub enum V<'a> {
    Ascii(&'a str),
    Short(u16),
    Long(u32),
    Rational(&'a [(u32, u32)]),
}

/// A little-endian TIFF structure: IFD0, then (if any) the EXIF and GPS IFDs it points to.
pub fn tiff(ifd0: &[(u16, V<'_>)], exif: &[(u16, V<'_>)], gps: &[(u16, V<'_>)]) -> Vec<u8> {
    let ifd_len = |n: usize| 2 + 12 * n + 4;
    let n0 = ifd0.len() + usize::from(!exif.is_empty()) + usize::from(!gps.is_empty());
    let exif_at = 8 + ifd_len(n0);
    let gps_at = exif_at
        + if exif.is_empty() {
            0
        } else {
            ifd_len(exif.len())
        };
    let mut data_at = gps_at
        + if gps.is_empty() {
            0
        } else {
            ifd_len(gps.len())
        };
    let mut data = Vec::new();
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    let mut write_ifd = |out: &mut Vec<u8>, entries: Vec<(u16, u16, u32, Vec<u8>)>| {
        let mut entries = entries;
        entries.sort_by_key(|e| e.0);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, count, bytes) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            if bytes.len() <= 4 {
                let mut inline = bytes.clone();
                inline.resize(4, 0);
                out.extend_from_slice(&inline);
            } else {
                out.extend_from_slice(&(data_at as u32).to_le_bytes());
                data_at += bytes.len();
                data.extend_from_slice(&bytes);
            }
        }
        out.extend_from_slice(&0u32.to_le_bytes());
    };
    let encode = |entries: &[(u16, V<'_>)]| -> Vec<(u16, u16, u32, Vec<u8>)> {
        entries
            .iter()
            .map(|(tag, v)| match v {
                V::Ascii(s) => {
                    let mut b = s.as_bytes().to_vec();
                    b.push(0);
                    (*tag, 2, b.len() as u32, b)
                }
                V::Short(n) => (*tag, 3, 1, n.to_le_bytes().to_vec()),
                V::Long(n) => (*tag, 4, 1, n.to_le_bytes().to_vec()),
                V::Rational(rs) => {
                    let b = rs
                        .iter()
                        .flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes()))
                        .collect::<Vec<u8>>();
                    (*tag, 5, rs.len() as u32, b)
                }
            })
            .collect()
    };
    let mut first = encode(ifd0);
    if !exif.is_empty() {
        first.push((0x8769, 4, 1, (exif_at as u32).to_le_bytes().to_vec()));
    }
    if !gps.is_empty() {
        first.push((0x8825, 4, 1, (gps_at as u32).to_le_bytes().to_vec()));
    }
    write_ifd(&mut out, first);
    if !exif.is_empty() {
        write_ifd(&mut out, encode(exif));
    }
    if !gps.is_empty() {
        write_ifd(&mut out, encode(gps));
    }
    out.extend_from_slice(&data);
    out
}

/// The camera's tags: Canon EOS R5, RF lens, taken 2024-05-12 14:03:22 +02:00, rotated a
/// quarter turn (6), at 48°51'29.6"N 2°17'40.2"E when `with_gps`.
pub fn camera_exif(with_gps: bool, extra_ifd0: Vec<(u16, V<'static>)>) -> Vec<u8> {
    shot_exif(
        "Canon",
        "Canon EOS R5",
        "2024:05:12 14:03:22",
        with_gps,
        extra_ifd0,
    )
}

/// [`camera_exif`] from another camera (`make`, `model`) at another time (`taken`, EXIF's
/// `YYYY:MM:DD HH:MM:SS`, at +02:00).
pub fn shot_exif(
    make: &'static str,
    model: &'static str,
    taken: &'static str,
    with_gps: bool,
    extra_ifd0: Vec<(u16, V<'static>)>,
) -> Vec<u8> {
    let mut ifd0 = vec![
        (0x010f, V::Ascii(make)),
        (0x0110, V::Ascii(model)),
        (0x0112, V::Short(6)),
    ];
    ifd0.extend(extra_ifd0);
    let exif = [
        (0x9003, V::Ascii(taken)),
        (0x9011, V::Ascii("+02:00")),
        (0xa434, V::Ascii("RF24-105mm F4 L IS USM")),
    ];
    let gps: Vec<(u16, V<'static>)> = if with_gps {
        vec![
            (0x0001, V::Ascii("N")),
            (0x0002, V::Rational(&[(48, 1), (51, 1), (296, 10)])),
            (0x0003, V::Ascii("E")),
            (0x0004, V::Rational(&[(2, 1), (17, 1), (402, 10)])),
        ]
    } else {
        Vec::new()
    };
    tiff(&ifd0, &exif, &gps)
}

/// A 40x30 JPEG carrying `tiff` as its EXIF (APP1 right after SOI).
pub fn jpeg_with_exif(tiff: &[u8]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(40, 30, image::Rgb([200, 100, 50]));
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut plain),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

pub fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(width, height, image::Rgba([10, 20, 30, 255]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), format)
        .unwrap();
    out
}

/// An MP4 (HEVC `hvc1`, 1920x1080 turned a quarter, 12.5 s, made 2023-07-01 UTC) with its
/// movie box after 1 MiB of media data, as cameras write it.
pub fn mp4_hevc() -> Vec<u8> {
    mp4_hevc_after(1 << 20)
}

/// [`mp4_hevc`] with `media` bytes of media data before its movie box.
pub fn mp4_hevc_after(media: usize) -> Vec<u8> {
    use mp4_atom::*;
    let mut out = Vec::new();
    Ftyp {
        major_brand: FourCC::new(b"isom"),
        minor_version: 512,
        compatible_brands: vec![FourCC::new(b"isom"), FourCC::new(b"mp41")],
    }
    .encode(&mut out)
    .unwrap();
    Mdat {
        data: vec![0u8; media],
    }
    .encode(&mut out)
    .unwrap();
    // 2023-07-01T00:00:00Z in seconds from 1904.
    let created = 1_688_169_600u64 + 2_082_844_800;
    let visual = Visual {
        width: 1920,
        height: 1080,
        ..Default::default()
    };
    let trak = Trak {
        tkhd: Tkhd {
            track_id: 1,
            width: 1080.into(),
            height: 1920.into(),
            matrix: Matrix {
                a: 0,
                b: 0x0001_0000,
                u: 0,
                c: -0x0001_0000,
                d: 0,
                v: 0,
                x: 0,
                y: 0,
                w: 0x4000_0000,
            },
            ..Default::default()
        },
        mdia: Mdia {
            mdhd: Mdhd {
                timescale: 1000,
                duration: 12_500,
                ..Default::default()
            },
            hdlr: Hdlr {
                handler: FourCC::new(b"vide"),
                name: "VideoHandler".into(),
            },
            minf: Minf {
                vmhd: Some(Vmhd::default()),
                stbl: Stbl {
                    stsd: Stsd {
                        codecs: vec![
                            Hvc1 {
                                visual,
                                hvcc: Hvcc::default(),
                                ..Default::default()
                            }
                            .into(),
                        ],
                    },
                    ..Default::default()
                },
                ..Default::default()
            },
        },
        ..Default::default()
    };
    Moov {
        mvhd: Mvhd {
            creation_time: created,
            modification_time: created,
            timescale: 1000,
            duration: 12_500,
            ..Default::default()
        },
        trak: vec![trak],
        ..Default::default()
    }
    .encode(&mut out)
    .unwrap();
    out
}

/// A WebM (VP9, 640x360, 3.5 s) with one empty cluster.
pub fn webm_vp9() -> Vec<u8> {
    use webm_iterable::WebmWriter;
    use webm_iterable::matroska_spec::{Master, MatroskaSpec as M};
    let mut out = Vec::new();
    {
        let mut w = WebmWriter::new(&mut out);
        let tags = vec![
            M::Ebml(Master::Full(vec![M::DocType("webm".into())])),
            M::Segment(Master::Start),
            M::Info(Master::Full(vec![
                M::TimestampScale(1_000_000),
                M::Duration(3500.0),
            ])),
            M::Tracks(Master::Full(vec![M::TrackEntry(Master::Full(vec![
                M::TrackNumber(1),
                M::TrackType(1),
                M::CodecID("V_VP9".into()),
                M::Video(Master::Full(vec![M::PixelWidth(640), M::PixelHeight(360)])),
            ]))])),
            M::Cluster(Master::Full(vec![M::Timestamp(0)])),
            M::Segment(Master::End),
        ];
        for tag in &tags {
            w.write(tag).unwrap();
        }
    }
    out
}

/// A PDF of `pages` blank pages, its cross-reference table at the right offsets.
pub fn pdf(pages: usize) -> Vec<u8> {
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            (0..pages)
                .map(|i| format!("{} 0 R", i + 3))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    ];
    for _ in 0..pages {
        objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".into());
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
