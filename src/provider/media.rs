//! What route knows about an attachment's bytes without decoding them, and what
//! each provider kind takes ([`MediaSpec`], given by each adapter file in its
//! [`KindSpec`](super::KindSpec)).
//!
//! An image's size in pixels is read from its header (PNG `IHDR`, the JPEG
//! start-of-frame segment, GIF's logical screen, WebP's `VP8 ` / `VP8L` /
//! `VP8X` chunk) and a PDF's pages are counted from its page objects: no
//! decoding library, so that `-a` costs a few microseconds and no start-up
//! time. Both only feed estimates (tokens, cost); what is sent is the file's
//! bytes as they are.

use super::types::{Attachment, Media};

/// One attachment as the plan sees it: what it is and how big, not its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The file name as the user gave it.
    pub name: String,
    pub media: Media,
    /// Its size in bytes, before any encoding.
    pub bytes: u64,
    /// Width and height in pixels, for an image whose header route can read.
    pub dimensions: Option<(u32, u32)>,
    /// Pages, for a PDF whose page objects route can count.
    pub pages: Option<u32>,
}

impl Facts {
    pub fn of(a: &Attachment) -> Facts {
        Facts {
            name: a.name.clone(),
            media: a.media,
            bytes: u64::try_from(a.bytes.len()).unwrap_or(u64::MAX),
            dimensions: dimensions(a.media, &a.bytes),
            pages: (a.media == Media::Pdf)
                .then(|| pdf_pages(&a.bytes))
                .flatten(),
        }
    }

    /// Its size as a limit counts it: as sent in base64, or as the file.
    pub fn size(&self, encoded: bool) -> u64 {
        if encoded {
            base64_len(self.bytes)
        } else {
            self.bytes
        }
    }

    /// Its pages, or a guess from its size when they cannot be counted (one
    /// page per 50 kB, at least one).
    pub fn pages_or_guess(&self) -> u64 {
        self.pages
            .map_or_else(|| self.bytes.div_ceil(50_000).max(1), u64::from)
    }
}

/// The length of `n` bytes in standard base64 with padding.
pub fn base64_len(n: u64) -> u64 {
    n.div_ceil(3).saturating_mul(4)
}

/// A size limit a provider publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    /// The limit counts the base64 text sent, not the file (Anthropic's
    /// per-image limit, every whole-request limit).
    pub encoded: bool,
}

impl Limit {
    /// `bytes` of files.
    pub const fn raw(bytes: u64) -> Limit {
        Limit {
            bytes,
            encoded: false,
        }
    }

    /// `bytes` of base64 text.
    pub const fn encoded(bytes: u64) -> Limit {
        Limit {
            bytes,
            encoded: true,
        }
    }
}

/// One megabyte as the providers count it (2^20 bytes).
pub const MB: u64 = 1024 * 1024;

/// What a provider kind takes as attachments, its published size limits and
/// how it counts an attachment's tokens: one per kind, in its adapter file
/// beside the encoding, each figure with the page that publishes it.
#[derive(Debug, Clone, Copy)]
pub struct MediaSpec {
    /// The wire format carries images (PNG, JPEG, GIF, WebP).
    pub images: bool,
    /// The wire format carries PDF documents.
    pub pdfs: bool,
    /// The largest image.
    pub max_image: Option<Limit>,
    /// The most image bytes in one request, all images together.
    pub max_images: Option<Limit>,
    /// The most PDF bytes in one request, all PDFs together.
    pub max_pdfs: Option<Limit>,
    /// The most attachment bytes in one request, every kind together.
    pub max_request: Option<Limit>,
    /// Tokens of one image of the given size in pixels (`None`: unreadable),
    /// by the provider's published rule.
    pub image_tokens: fn(Option<(u32, u32)>) -> u64,
    /// Tokens of one PDF page: the provider's figure, or an estimate of a
    /// page's text and page image by its rules.
    pub pdf_page_tokens: u64,
}

impl MediaSpec {
    /// A kind whose wire format carries no attachments.
    pub const NONE: MediaSpec = MediaSpec {
        images: false,
        pdfs: false,
        max_image: None,
        max_images: None,
        max_pdfs: None,
        max_request: None,
        image_tokens: |_| 0,
        pdf_page_tokens: 0,
    };

    /// Whether the wire format carries this kind of file.
    pub fn takes(&self, media: Media) -> bool {
        if media.is_image() {
            self.images
        } else {
            self.pdfs
        }
    }

    /// The estimated input tokens of these attachments.
    pub fn tokens(&self, attachments: &[Facts]) -> u64 {
        attachments
            .iter()
            .map(|a| {
                if a.media.is_image() {
                    (self.image_tokens)(a.dimensions)
                } else {
                    self.pdf_page_tokens.saturating_mul(a.pages_or_guess())
                }
            })
            .fold(0, u64::saturating_add)
    }

    /// The first limit these attachments break, if any: which file (or
    /// `None` for a total), how big it or the total is, and the limit.
    pub fn over_limit<'a>(&self, attachments: &'a [Facts]) -> Option<Over<'a>> {
        for a in attachments {
            if let (true, Some(limit)) = (a.media.is_image(), self.max_image) {
                if a.size(limit.encoded) > limit.bytes {
                    return Some(Over {
                        file: Some(&a.name),
                        size: a.size(limit.encoded),
                        limit,
                        scope: Scope::Image,
                    });
                }
            }
        }
        let total = |limit: Limit, which: Which| -> u64 {
            attachments
                .iter()
                .filter(|a| which(a))
                .map(|a| a.size(limit.encoded))
                .fold(0, u64::saturating_add)
        };
        let totals: [(Option<Limit>, Scope, Which); 3] = [
            (self.max_images, Scope::Images, |a| a.media.is_image()),
            (self.max_pdfs, Scope::Pdfs, |a| !a.media.is_image()),
            (self.max_request, Scope::Request, |_| true),
        ];
        for (limit, scope, which) in totals {
            let Some(limit) = limit else { continue };
            let size = total(limit, which);
            if size > limit.bytes {
                // One file alone over a total is named.
                let mut files = attachments.iter().filter(|a| which(a));
                let file = match (files.next(), files.next()) {
                    (Some(a), None) => Some(a.name.as_str()),
                    _ => None,
                };
                return Some(Over {
                    file,
                    size,
                    limit,
                    scope,
                });
            }
        }
        None
    }
}

/// Which attachments a total counts.
type Which = fn(&Facts) -> bool;

/// What a limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Each image.
    Image,
    /// All images of a request.
    Images,
    /// All PDFs of a request.
    Pdfs,
    /// Everything attached to a request.
    Request,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Image => "per image",
            Scope::Images => "of images per request",
            Scope::Pdfs => "of PDFs per request",
            Scope::Request => "of attachments per request",
        }
    }
}

/// Attachments over a provider's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Over<'a> {
    /// The file, when one file alone breaks it.
    pub file: Option<&'a str>,
    /// Its size, or the total's, counted as the limit counts.
    pub size: u64,
    pub limit: Limit,
    pub scope: Scope,
}

/// `5 MB`, `1.3 MB`, `640 kB`: a size for messages.
pub fn human_size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mb = bytes as f64 / MB as f64;
    if bytes >= MB {
        let text = format!("{mb:.1}");
        format!("{} MB", text.strip_suffix(".0").unwrap_or(&text))
    } else if bytes >= 1024 {
        format!("{} kB", bytes.div_ceil(1024))
    } else {
        format!("{bytes} bytes")
    }
}

/// An image's width and height in pixels, read from its header; `None` for a
/// PDF or a header route cannot read.
pub fn dimensions(media: Media, b: &[u8]) -> Option<(u32, u32)> {
    let dims = match media {
        Media::Png => png(b),
        Media::Gif => Some((u32::from(le16(b, 6)?), u32::from(le16(b, 8)?))),
        Media::Jpeg => jpeg(b),
        Media::Webp => webp(b),
        Media::Pdf => None,
    }?;
    (dims.0 > 0 && dims.1 > 0).then_some(dims)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

/// The signature, then the `IHDR` chunk: length, type, width, height (big-endian).
/// <https://www.w3.org/TR/png-3/#11IHDR>
fn png(b: &[u8]) -> Option<(u32, u32)> {
    if b.get(12..16)? != b"IHDR" {
        return None;
    }
    let word = |at: usize| Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?));
    Some((word(16)?, word(20)?))
}

/// Segments from the start-of-image marker to the first start-of-frame (any
/// of SOF0–SOF15 but DHT, JPG and DAC), whose body is precision, height,
/// width. ITU T.81, B.2.2: <https://www.w3.org/Graphics/JPEG/itu-t81.pdf>
fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        // Fill bytes (0xFF) may pad before a marker.
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        at += 2;
        match marker {
            // Markers without a length: TEM, RST0–7, SOI.
            0x01 | 0xD0..=0xD8 => {}
            // End of image or start of scan before any frame header.
            0xD9 | 0xDA => return None,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be16(b, at + 3)?;
                let width = be16(b, at + 5)?;
                return Some((u32::from(width), u32::from(height)));
            }
            _ => {
                let len = usize::from(be16(b, at)?);
                if len < 2 {
                    return None;
                }
                at += len;
            }
        }
    }
}

/// `RIFF`, size, `WEBP`, then the first chunk: `VP8 ` (lossy: the key frame's
/// 14-bit sizes after its start code), `VP8L` (lossless: 14-bit sizes minus
/// one after the signature byte) or `VP8X` (extended: 24-bit canvas sizes
/// minus one). <https://developers.google.com/speed/webp/docs/riff_container>
fn webp(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        b"VP8 " => {
            if b.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            Some((
                u32::from(le16(b, 26)? & 0x3FFF),
                u32::from(le16(b, 28)? & 0x3FFF),
            ))
        }
        b"VP8L" => {
            if *b.get(20)? != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

/// A PDF's pages: its page objects (`/Type /Page`, not `/Pages`), or else the
/// largest `/Count` of a page tree; `None` when neither is readable (page
/// objects inside compressed object streams).
pub fn pdf_pages(b: &[u8]) -> Option<u32> {
    let mut pages: u32 = 0;
    for at in memchr::memmem::find_iter(b, b"/Type") {
        let rest = skip_space(&b[at + 5..]);
        if let Some(after) = rest.strip_prefix(b"/Page") {
            if !after.first().is_some_and(u8::is_ascii_alphanumeric) {
                pages = pages.saturating_add(1);
            }
        }
    }
    if pages > 0 {
        return Some(pages);
    }
    memchr::memmem::find_iter(b, b"/Count")
        .filter_map(|at| {
            let digits: Vec<u8> = skip_space(&b[at + 6..])
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            std::str::from_utf8(&digits).ok()?.parse::<u32>().ok()
        })
        .filter(|n| *n > 0)
        .max()
}

fn skip_space(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .take_while(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0'))
        .count();
    &b[n..]
}

/// `(w, h)` scaled down by `factor` (at most 1), each side at least 1.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
pub fn scaled((w, h): (u32, u32), factor: f64) -> (u32, u32) {
    if factor >= 1.0 {
        return (w, h);
    }
    let side = |s: u32| ((f64::from(s) * factor).round() as u32).max(1);
    (side(w), side(h))
}

#[cfg(test)]
pub(crate) mod samples {
    //! The headers of small images of known sizes, built by hand from the
    //! format specifications linked above: enough bytes for [`super::dimensions`].

    /// A PNG signature and `IHDR` of `w` × `h`.
    pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    /// SOI, an APP0 (JFIF) segment, then a baseline SOF0 of `w` × `h`.
    pub(crate) fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&[0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        b
    }

    pub(crate) fn gif(w: u16, h: u16) -> Vec<u8> {
        let mut b = b"GIF89a".to_vec();
        b.extend_from_slice(&w.to_le_bytes());
        b.extend_from_slice(&h.to_le_bytes());
        b.extend_from_slice(&[0, 0, 0]);
        b
    }

    fn riff(chunk: [u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = b"RIFF\0\0\0\0WEBP".to_vec();
        b.extend_from_slice(&chunk);
        b.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        b.extend_from_slice(body);
        b
    }

    /// A lossy WebP (`VP8 `) key frame header of `w` × `h`.
    pub(crate) fn webp_lossy(w: u16, h: u16) -> Vec<u8> {
        let mut body = vec![0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A];
        body.extend_from_slice(&w.to_le_bytes());
        body.extend_from_slice(&h.to_le_bytes());
        riff(*b"VP8 ", &body)
    }

    /// A lossless WebP (`VP8L`) header of `w` × `h`.
    pub(crate) fn webp_lossless(w: u32, h: u32) -> Vec<u8> {
        let bits = (w - 1) | (h - 1) << 14;
        let mut body = vec![0x2F];
        body.extend_from_slice(&bits.to_le_bytes());
        riff(*b"VP8L", &body)
    }

    /// An extended WebP (`VP8X`) header of `w` × `h`.
    pub(crate) fn webp_extended(w: u32, h: u32) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0];
        body.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
        body.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
        riff(*b"VP8X", &body)
    }

    /// A PDF of `pages` pages in an uncompressed page tree.
    pub(crate) fn pdf(pages: u32) -> Vec<u8> {
        let mut b = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n".to_vec();
        b.extend_from_slice(
            format!("2 0 obj << /Type /Pages /Count {pages} >> endobj\n").as_bytes(),
        );
        for i in 0..pages {
            b.extend_from_slice(
                format!("{} 0 obj <</Type/Page/Parent 2 0 R>> endobj\n", i + 3).as_bytes(),
            );
        }
        b.extend_from_slice(b"%%EOF\n");
        b
    }
}

#[cfg(test)]
mod tests {
    use super::samples;
    use super::*;

    #[test]
    fn every_image_format_gives_its_size() {
        let cases = [
            (Media::Png, samples::png(1280, 720)),
            (Media::Jpeg, samples::jpeg(1280, 720)),
            (Media::Gif, samples::gif(1280, 720)),
            (Media::Webp, samples::webp_lossy(1280, 720)),
            (Media::Webp, samples::webp_lossless(1280, 720)),
            (Media::Webp, samples::webp_extended(1280, 720)),
        ];
        for (media, bytes) in cases {
            assert_eq!(Media::sniff(&bytes), Some(media), "{media:?}");
            assert_eq!(dimensions(media, &bytes), Some((1280, 720)), "{media:?}");
        }
    }

    #[test]
    fn jpeg_segments_before_the_frame_are_skipped() {
        // An EXIF APP1 and a DQT before the frame, and fill bytes.
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, b'E', b'x', b'i', b'f'];
        b.extend_from_slice(&[0xFF, 0xFF, 0xDB, 0x00, 0x03, 0x00]);
        b.extend_from_slice(&samples::jpeg(640, 480)[20..]);
        assert_eq!(dimensions(Media::Jpeg, &b), Some((640, 480)));
        // A progressive frame (SOF2) counts; a scan before any frame does not.
        let mut progressive = samples::jpeg(33, 44);
        progressive[21] = 0xC2;
        assert_eq!(dimensions(Media::Jpeg, &progressive), Some((33, 44)));
        assert_eq!(
            dimensions(Media::Jpeg, &[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]),
            None
        );
    }

    #[test]
    fn truncated_or_damaged_headers_give_nothing() {
        for (media, bytes) in [
            (Media::Png, samples::png(10, 10)),
            (Media::Jpeg, samples::jpeg(10, 10)),
            (Media::Gif, samples::gif(10, 10)),
            (Media::Webp, samples::webp_lossy(10, 10)),
            (Media::Webp, samples::webp_extended(10, 10)),
        ] {
            for cut in 0..bytes.len().min(24) {
                // Never a panic; a size only when the header is whole.
                let _ = dimensions(media, &bytes[..cut]);
            }
        }
        assert_eq!(dimensions(Media::Png, &samples::png(0, 5)), None);
        assert_eq!(dimensions(Media::Pdf, &samples::pdf(1)), None);
    }

    #[test]
    fn pdf_pages_are_counted() {
        assert_eq!(pdf_pages(&samples::pdf(3)), Some(3));
        // Page objects in a compressed stream: the page tree's count.
        assert_eq!(
            pdf_pages(b"%PDF-1.7\n<< /Type /Pages /Kids [] /Count 12 >>"),
            Some(12)
        );
        assert_eq!(pdf_pages(b"%PDF-1.7\n%%EOF"), None);
    }

    #[test]
    fn limits_name_the_file_or_the_total() {
        let spec = MediaSpec {
            images: true,
            pdfs: true,
            max_image: Some(Limit::encoded(5 * MB)),
            max_images: None,
            max_pdfs: Some(Limit::raw(10 * MB)),
            max_request: Some(Limit::encoded(32 * MB)),
            image_tokens: |_| 1,
            pdf_page_tokens: 2,
        };
        let facts = |name: &str, media, bytes| Facts {
            name: name.into(),
            media,
            bytes,
            dimensions: None,
            pages: Some(3),
        };
        // 4 MB of file is 5.3 MB of base64: over a 5 MB encoded limit.
        let big = [facts("big.png", Media::Png, 4 * MB)];
        let over = spec.over_limit(&big).unwrap();
        assert_eq!((over.file, over.scope), (Some("big.png"), Scope::Image));
        assert!(
            spec.over_limit(&[facts("ok.png", Media::Png, 3 * MB)])
                .is_none()
        );
        let pdfs = [
            facts("a.pdf", Media::Pdf, 6 * MB),
            facts("b.pdf", Media::Pdf, 6 * MB),
        ];
        let over = spec.over_limit(&pdfs).unwrap();
        assert_eq!(
            (over.file, over.scope, over.size),
            (None, Scope::Pdfs, 12 * MB)
        );
        assert_eq!(spec.tokens(&pdfs), 12);
        assert_eq!(human_size(5 * MB), "5 MB");
        assert_eq!(human_size(4 * MB + MB / 3), "4.3 MB");
        assert_eq!(human_size(2000), "2 kB");
    }
}

/// Property tests (issue 9's habit, for a file's bytes): no file makes the
/// header readers panic, and a header reads the same whatever follows it.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::samples;
    use super::*;
    use crate::provider::fuzz::{bytes, config};

    /// Each format's magic numbers, so that random bytes reach past them.
    const MAGIC: [&[u8]; 7] = [
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
        &[0xFF, 0xD8, 0xFF],
        b"GIF89a",
        b"RIFF\0\0\0\0WEBPVP8 ",
        b"RIFF\0\0\0\0WEBPVP8L",
        b"RIFF\0\0\0\0WEBPVP8X",
        b"%PDF-1.7\n/Type /Page",
    ];

    proptest! {
        #![proptest_config(config(1000))]

        #[test]
        fn any_bytes_after_any_magic(magic in prop::sample::select(&MAGIC[..]), tail in bytes()) {
            let b = [magic, &tail].concat();
            if let Some(media) = Media::sniff(&b) {
                let _ = dimensions(media, &b);
            }
            let _ = pdf_pages(&b);
        }

        #[test]
        fn a_header_reads_the_same_whatever_follows(w in 1u16..=16383, h in 1u16..=16383, tail in bytes()) {
            let (w32, h32) = (u32::from(w), u32::from(h));
            for (media, header) in [
                (Media::Png, samples::png(w32, h32)),
                (Media::Jpeg, samples::jpeg(w, h)),
                (Media::Gif, samples::gif(w, h)),
                (Media::Webp, samples::webp_lossy(w, h)),
                (Media::Webp, samples::webp_lossless(w32, h32)),
                (Media::Webp, samples::webp_extended(w32, h32)),
            ] {
                let b = [header.as_slice(), &tail].concat();
                prop_assert_eq!(dimensions(media, &b), Some((w32, h32)), "{:?}", media);
            }
        }
    }
}
