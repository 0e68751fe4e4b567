//! `-a FILE`: what a file given with a prompt becomes in the request
//! (CONTRACT.md "Attachments").
//!
//! Every file is read before anything is sent, and judged by its bytes, not
//! its name: an image (PNG, JPEG, GIF, WebP) or a PDF becomes a
//! [`Part::Attachment`], which each adapter sends in its provider's own form;
//! UTF-8 text is inlined as a fenced block headed by the file's name, which
//! every model can read. Anything else, and a file that is missing,
//! unreadable or empty, is an input error (exit 2) that names the file and
//! the kinds route takes. Which models can take an image or a PDF, and how
//! large, is the plan's business ([`crate::router::plan`]).

use std::io::Read as _;
use std::path::Path;

use crate::error::Error;
use crate::provider::types::{Attachment, ChatRequest, Part, Role};

/// The kinds of file `-a` takes, as messages name them.
pub const KINDS_TAKEN: &str = "-a takes PNG, JPEG, GIF and WebP images, PDFs, and UTF-8 text files";

/// The largest file route reads: more than any provider takes inline
/// (OpenAI's 50 MB of images per request is the most), so a larger file is
/// refused before it is read into memory.
pub const MAX_FILE: u64 = 100 * 1024 * 1024;

/// Reads every `-a` file, in order.
pub fn read_all<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Part>, Error> {
    paths.iter().map(|p| read(p.as_ref())).collect()
}

/// Reads one `-a` file into the part it becomes.
pub fn read(path: &Path) -> Result<Part, Error> {
    let name = path.display().to_string();
    let fail = |what: String| {
        Error::usage_hint(format!("-a {name}: {what}"), Some(KINDS_TAKEN.to_owned()))
    };
    let mut file = std::fs::File::open(path).map_err(|e| fail(open_error(&e)).caused_by(e))?;
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot read it ({})", e.kind())).caused_by(e))?;
    if meta.is_dir() {
        return Err(fail("is a folder, not a file".to_owned()));
    }
    if meta.len() > MAX_FILE {
        return Err(fail(format!(
            "{} is more than any provider takes (route reads at most {})",
            crate::provider::media::human_size(meta.len()),
            crate::provider::media::human_size(MAX_FILE)
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read it ({})", e.kind())).caused_by(e))?;
    if bytes.is_empty() {
        return Err(fail("the file is empty".to_owned()));
    }
    part(&name, bytes).ok_or_else(|| {
        fail(
            "route cannot send this kind of file (it is neither an image, a PDF nor UTF-8 text)"
                .to_owned(),
        )
    })
}

/// Why a file did not open, in words.
fn open_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "cannot read it (permission denied)".to_owned(),
        _ => format!("cannot read it ({e})"),
    }
}

/// The part a file's bytes become: an attachment for an image or a PDF, a
/// fenced block for UTF-8 text, `None` for anything else.
pub fn part(name: &str, bytes: Vec<u8>) -> Option<Part> {
    if crate::provider::types::Media::sniff(&bytes).is_some() {
        return Attachment::new(name, bytes).map(Part::Attachment);
    }
    let text = String::from_utf8(bytes).ok()?;
    // UTF-16 and other binaries can be valid UTF-8 with NUL bytes in it.
    if text.contains('\0') {
        return None;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Some(Part::Text(fenced(name, text)))
}

/// `name`, then the text in a fence of backticks longer than any run of
/// backticks inside it, then a blank line before what follows.
pub fn fenced(name: &str, text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{name}:\n{fence}\n{text}{newline}{fence}\n\n")
}

/// Puts the files before the text of the request's last user message (the
/// prompt): the order the providers' guides recommend, files first.
pub fn attach(request: &mut ChatRequest, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    if let Some(user) = request
        .messages
        .iter_mut()
        .rev()
        .find(|m| m.role == Role::User)
    {
        user.parts.splice(0..0, parts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::media::samples;
    use crate::provider::types::{Media, Params};

    #[test]
    fn images_and_pdfs_are_known_by_their_bytes() {
        // A PNG named .txt is a PNG; a PDF named .png is a PDF.
        let Some(Part::Attachment(a)) = part("notes.txt", samples::png(3, 2)) else {
            panic!("not an attachment");
        };
        assert_eq!((a.media, a.name.as_str()), (Media::Png, "notes.txt"));
        assert_eq!(a.hash.len(), 64);
        assert!(matches!(
            part("x.png", samples::pdf(2)),
            Some(Part::Attachment(Attachment {
                media: Media::Pdf,
                ..
            }))
        ));
        let gif = Attachment::new("a.gif", b"GIF89a\x01\0\x01\0".to_vec()).unwrap();
        assert_eq!(gif.media, Media::Gif);
        assert!(Attachment::new("a.bin", b"\x00\x01".to_vec()).is_none());
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_bytes() {
        // As `printf '%%PDF-' | sha256sum` prints it.
        let a = Attachment::new("x.pdf", b"%PDF-".to_vec()).unwrap();
        assert_eq!(
            a.hash,
            "38523c087796e5d5dd1cf9bad1fb026781a838dd9dd2cf8af58b9f6502a46778"
        );
    }

    #[test]
    fn text_is_fenced_longer_than_any_backticks_inside() {
        assert_eq!(fenced("a.txt", "hi\n"), "a.txt:\n```\nhi\n```\n\n");
        assert_eq!(
            fenced("b.md", "```rust\nx\n```"),
            "b.md:\n````\n```rust\nx\n```\n````\n\n"
        );
        assert_eq!(fenced("c", "`````"), "c:\n``````\n`````\n``````\n\n");
        let Some(Part::Text(t)) = part("d.txt", "\u{feff}héllo".as_bytes().to_vec()) else {
            panic!("not text");
        };
        assert_eq!(t, "d.txt:\n```\nhéllo\n```\n\n");
        // Not UTF-8, or UTF-8 with NULs (UTF-16): neither text nor a known file.
        assert!(part("e.bin", vec![0xFF, 0xFE, 0x00, 0x41]).is_none());
        assert!(part("f.txt", b"h\0i\0".to_vec()).is_none());
    }

    #[test]
    fn files_go_before_the_prompt() {
        let mut request =
            ChatRequest::prompt(Some("sys"), "what is wrong", Params::default(), true);
        attach(
            &mut request,
            vec![Part::Text("a\n".into()), Part::Text("b\n".into())],
        );
        assert_eq!(request.messages[1].joined(), "a\nb\nwhat is wrong");
        assert_eq!(request.messages[0].joined(), "sys");
    }
}
