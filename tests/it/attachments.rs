//! `-a FILE` (issue 14): images and PDFs reach each provider kind in its own
//! shape (route-mock decodes and checks them, and answers 400 to any other
//! shape), a model that cannot take a file is skipped before sending and `-v`
//! / `--dry-run` say why, text files are inlined, and bad files are exit 2
//! with nothing sent.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use route::provider::ProviderKind;

use crate::support::{MockServer, Reply, Script, TestEnv, provider};

const PNG: &str = "image/png";
const PDF: &str = "application/pdf";

/// The start of a PNG of `w` × `h`: signature, `IHDR`, an empty `IDAT` and
/// `IEND` (route reads the size from `IHDR`; no one decodes the pixels).
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(b"\0\0\0\0IDAT\0\0\0\0\0\0\0\0IEND\xaeB`\x82");
    b
}

/// A one-page PDF.
fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
      2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
      3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n%%EOF\n"
        .to_vec()
}

/// Writes `bytes` as `name` in the test's folder (where route runs).
fn file(env: &TestEnv, name: &str, bytes: &[u8]) -> PathBuf {
    let path = env.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A model of `kind` the catalog says takes images and PDFs (Ollama's is
/// not in the catalog: unknown, so tried).
fn vision_model(kind: &str) -> &'static str {
    match kind {
        "anthropic" => "claude-haiku-4-5",
        "gemini" => "gemini-2.5-flash",
        "ollama" => "llava",
        _ => "gpt-4o-mini",
    }
}

/// A profile with one provider per `(name, kind, server, model, extra)`,
/// each with the alias `name`, and the chain `main` of all of them in order.
fn profile(members: &[(&str, &str, &MockServer, &str, &str)]) -> TestEnv {
    let mut env = TestEnv::new();
    let mut text = String::from("[settings]\nbackoff = \"10ms\"\n");
    for (name, kind, server, model, extra) in members {
        env.env(&format!("{}_KEY", name.to_uppercase()), "sk-test");
        text.push_str(&provider(name, kind, server));
        let _ = writeln!(
            text,
            "[models.{name}]\nprovider = \"{name}\"\nmodel = \"{model}\"\n{extra}"
        );
    }
    let names: Vec<String> = members.iter().map(|m| format!("\"{}\"", m.0)).collect();
    let _ = writeln!(text, "[chains.main]\nmodels = [{}]", names.join(", "));
    env.profile(&text);
    env
}

fn decode(data: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap()
}

/// The bytes of a `data:<mime>;base64,…` URL, checking its MIME type.
fn data_url(url: &serde_json::Value, mime: &str) -> Vec<u8> {
    let url = url.as_str().unwrap();
    let data = url
        .strip_prefix(&format!("data:{mime};base64,"))
        .unwrap_or_else(|| panic!("not a {mime} data URL: {}", &url[..40.min(url.len())]));
    decode(data)
}

#[test]
fn each_kind_gets_the_image_and_the_pdf_in_its_own_shape() {
    for kind in ProviderKind::NAMES {
        // -- Setup: the mock refuses any other shape, and these two files are required.
        let wanted: &[&str] = if kind == "ollama" {
            &[PNG]
        } else {
            &[PNG, PDF]
        };
        let server = MockServer::start(
            Script::always(Reply::text("A red square.")).expecting_attachments(wanted),
        );
        let env = profile(&[("m", kind, &server, vision_model(kind), "")]);
        let image = png(64, 48);
        file(&env, "shot.png", &image);
        file(&env, "report.pdf", &pdf());
        let mut args = vec!["ask", "-m", "m", "-a", "shot.png"];
        if kind != "ollama" {
            args.extend(["-a", "report.pdf"]);
        }
        args.push("what is wrong here");
        // -- Exec
        let run = env.run(&args);
        // -- Check
        run.expect_code(0);
        assert_eq!(run.stdout, "A red square.\n", "{kind}");
        let body = server.requests()[0].json();
        match kind {
            "openai" | "azure" => {
                let parts = &body["messages"][0]["content"];
                assert_eq!(parts[0]["type"], "image_url", "{kind}: {parts}");
                assert_eq!(data_url(&parts[0]["image_url"]["url"], PNG), image);
                assert_eq!(parts[1]["type"], "file");
                assert_eq!(parts[1]["file"]["filename"], "report.pdf");
                assert_eq!(data_url(&parts[1]["file"]["file_data"], PDF), pdf());
                assert_eq!(
                    parts[2],
                    serde_json::json!({"type": "text", "text": "what is wrong here"})
                );
            }
            "anthropic" => {
                let blocks = &body["messages"][0]["content"];
                assert_eq!(blocks[0]["type"], "image", "{blocks}");
                assert_eq!(blocks[0]["source"]["type"], "base64");
                assert_eq!(blocks[0]["source"]["media_type"], PNG);
                assert_eq!(decode(blocks[0]["source"]["data"].as_str().unwrap()), image);
                assert_eq!(blocks[1]["type"], "document");
                assert_eq!(blocks[1]["source"]["media_type"], PDF);
                assert_eq!(blocks[2]["text"], "what is wrong here");
            }
            "gemini" => {
                let parts = &body["contents"][0]["parts"];
                assert_eq!(parts[0]["inline_data"]["mime_type"], PNG, "{parts}");
                assert_eq!(
                    decode(parts[0]["inline_data"]["data"].as_str().unwrap()),
                    image
                );
                assert_eq!(parts[1]["inline_data"]["mime_type"], PDF);
                assert_eq!(parts[2]["text"], "what is wrong here");
            }
            "ollama" => {
                let m = &body["messages"][0];
                assert_eq!(m["content"], "what is wrong here", "{m}");
                assert_eq!(decode(m["images"][0].as_str().unwrap()), image);
            }
            other => panic!("a kind with no check: {other}"),
        }
    }
}

#[test]
fn a_vision_attachment_skips_a_text_only_model_and_the_next_answers() {
    // -- Setup: o3-mini takes no images (the catalog), `old` is marked so in the
    // profile; gpt-4o-mini takes them.
    let text_only = MockServer::start(Script::default());
    let marked = MockServer::start(Script::default());
    let vision = MockServer::start(
        Script::always(Reply::text("The button is cut off.")).expecting_attachments(&[PNG]),
    );
    let env = profile(&[
        ("o3", "openai", &text_only, "o3-mini", ""),
        (
            "old",
            "anthropic",
            &marked,
            "claude-haiku-4-5",
            "vision = false",
        ),
        ("gpt", "openai", &vision, "gpt-4o-mini", ""),
    ]);
    file(&env, "screenshot.png", &png(800, 600));
    // -- Exec
    let run = env.run(&[
        "ask",
        "-v",
        "-m",
        "main",
        "-a",
        "screenshot.png",
        "what is wrong here",
    ]);
    // -- Check
    run.expect_code(0);
    assert_eq!(run.stdout, "The button is cut off.\n");
    assert!(
        run.stderr.contains(
            "skipping o3: cannot take screenshot.png: the catalog says it takes no images"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("skipping old: cannot take screenshot.png: `vision = false` in the profile"),
        "{}",
        run.stderr
    );
    assert_eq!(text_only.request_count() + marked.request_count(), 0);
    assert_eq!(vision.request_count(), 1);
    // The summary names them too.
    assert!(
        run.stderr
            .contains("skipped o3 (cannot take screenshot.png"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_pdf_skips_ollama_whose_api_takes_none() {
    let local = MockServer::start(Script::default());
    let claude = MockServer::start(
        Script::always(Reply::text("Three findings.")).expecting_attachments(&[PDF]),
    );
    let env = profile(&[
        ("local", "ollama", &local, "llava", "pdf = true"),
        ("claude", "anthropic", &claude, "claude-haiku-4-5", ""),
    ]);
    file(&env, "report.pdf", &pdf());
    let run = env.run(&[
        "ask",
        "-v",
        "-m",
        "main",
        "-a",
        "report.pdf",
        "Summarise this",
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout, "Three findings.\n");
    assert!(
        run.stderr
            .contains("skipping local: cannot take report.pdf: ollama's API takes no PDFs"),
        "{}",
        run.stderr
    );
    assert_eq!(local.request_count(), 0);
    let body = claude.requests()[0].json();
    assert_eq!(body["messages"][0]["content"][0]["title"], "report.pdf");
}

#[test]
fn a_model_whose_capability_is_unknown_is_tried_and_v_says_so() {
    let local =
        MockServer::start(Script::always(Reply::text("A cat.")).expecting_attachments(&[PNG]));
    let env = profile(&[("local", "ollama", &local, "llava:13b", "")]);
    file(&env, "cat.png", &png(336, 336));
    let run = env.run(&["ask", "-v", "-m", "local", "-a", "cat.png", "what is this"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains(
            "route: local: the catalog does not say whether it takes images; trying it (`vision = true` or `false`"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(local.request_count(), 1);
}

#[test]
fn a_text_file_is_inlined_in_a_fence_headed_by_its_name() {
    let server = MockServer::start(Script::default());
    let env = profile(&[("m", "openai", &server, "gpt-4o-mini", "")]);
    file(&env, "notes.md", b"Run ```make``` first.\n");
    env.run(&["ask", "-m", "m", "-a", "notes.md", "is this right?"])
        .expect_code(0);
    let body = server.requests()[0].json();
    // Text only: the content stays one string, as without -a.
    assert_eq!(
        body["messages"][0]["content"],
        "notes.md:\n````\nRun ```make``` first.\n````\n\nis this right?"
    );
}

#[test]
fn compare_sends_the_file_to_every_model_that_takes_it() {
    let a =
        MockServer::start(Script::always(Reply::text("A chart.")).expecting_attachments(&[PNG]));
    let b = MockServer::start(Script::default());
    let c = MockServer::start(
        Script::always(Reply::text("Sales by month.")).expecting_attachments(&[PNG]),
    );
    let env = profile(&[
        ("a", "openai", &a, "gpt-4o-mini", ""),
        ("b", "openai", &b, "o3-mini", ""),
        ("c", "gemini", &c, "gemini-2.5-flash", ""),
    ]);
    file(&env, "chart.png", &png(1000, 700));
    let run = env.run(&[
        "compare",
        "-m",
        "a",
        "-m",
        "b",
        "-m",
        "c",
        "--json",
        "-a",
        "chart.png",
        "what does this show",
    ]);
    run.expect_code(0);
    assert_eq!(
        (a.request_count(), b.request_count(), c.request_count()),
        (1, 0, 1)
    );
    assert!(run.stdout.contains("Sales by month."), "{}", run.stdout);
}

#[test]
fn dry_run_shows_the_skip_and_the_image_token_estimate() {
    let server = MockServer::start(Script::default());
    let env = profile(&[
        ("o3", "openai", &server, "o3-mini", ""),
        ("gpt", "openai", &server, "gpt-4o-mini", ""),
        ("claude", "anthropic", &server, "claude-haiku-4-5", ""),
    ]);
    // 1280 × 720: six 512 px tiles at OpenAI (85 + 6 × 170 = 1105 tokens),
    // 1280 × 720 / 750 = 1229 tokens at Anthropic.
    file(&env, "shot.png", &png(1280, 720));
    let text = env.run(&[
        "ask",
        "--dry-run",
        "-m",
        "main",
        "-a",
        "shot.png",
        "what is wrong here",
    ]);
    text.expect_code(0);
    assert!(
        text.stdout
            .contains("attached: shot.png (PNG image, 1280 × 720,"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("skipped: o3 (o3/o3-mini)")
            && text
                .stdout
                .contains("— cannot take shot.png: the catalog says it takes no images"),
        "{}",
        text.stdout
    );
    let json = env.run(&[
        "ask",
        "--dry-run",
        "--json",
        "-m",
        "main",
        "-a",
        "shot.png",
        "what is wrong here",
    ]);
    let j = json.expect_code(0).json();
    let text_tokens = j["estimated_input_tokens"].as_u64().unwrap();
    assert_eq!(j["attachments"][0]["file"], "shot.png");
    assert_eq!(
        (
            j["attachments"][0]["width"].as_u64(),
            j["attachments"][0]["height"].as_u64()
        ),
        (Some(1280), Some(720))
    );
    assert_eq!(j["models"][0]["alias"], "gpt");
    assert_eq!(
        j["models"][0]["input_tokens"].as_u64(),
        Some(text_tokens + 1105)
    );
    assert_eq!(
        j["models"][1]["input_tokens"].as_u64(),
        Some(text_tokens + 1229)
    );
    assert_eq!(j["skipped"][0]["alias"], "o3");
    assert_eq!(j["skipped"][0]["reason_kind"], "attachment");
    assert_eq!(server.request_count(), 0, "a dry run sends nothing");
}

/// Runs `ask -a NAME` against a mock and checks that it is exit 2 naming the
/// file, with the kinds route takes, and that nothing was sent.
#[track_caller]
fn refused(env: &TestEnv, server: &MockServer, name: &str, says: &str) {
    let run = env.run(&["ask", "-m", "main", "-a", name, "what is this"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(&format!("-a {name}: {says}")),
        "{}",
        run.stderr
    );
    assert_eq!(server.request_count(), 0, "nothing is sent: {}", run.stderr);
}

#[test]
fn bad_files_are_exit_2_naming_the_file_and_nothing_is_sent() {
    let server = MockServer::start(Script::default());
    let env = profile(&[("m", "anthropic", &server, "claude-haiku-4-5", "")]);
    let kinds = "hint: -a takes PNG, JPEG, GIF and WebP images, PDFs, and UTF-8 text files";

    refused(&env, &server, "missing.png", "no such file");
    file(&env, "empty.txt", b"");
    refused(&env, &server, "empty.txt", "the file is empty");
    file(
        &env,
        "blob.bin",
        &[0x7f, b'E', b'L', b'F', 0xff, 0x00, 0x13],
    );
    refused(
        &env,
        &server,
        "blob.bin",
        "route cannot send this kind of file",
    );
    // UTF-16 text is not UTF-8 text.
    file(&env, "utf16.txt", b"\xff\xfeh\0i\0");
    refused(
        &env,
        &server,
        "utf16.txt",
        "route cannot send this kind of file",
    );
    std::fs::create_dir(env.path().join("folder")).unwrap();
    refused(&env, &server, "folder", "is a folder, not a file");
    // A socket cannot be opened as a file, even by root.
    #[cfg(unix)]
    {
        let _socket = std::os::unix::net::UnixListener::bind(env.path().join("sock.png")).unwrap();
        refused(&env, &server, "sock.png", "cannot read it");
    }
    // An unreadable file (root reads it anyway, so only checked for others).
    #[cfg(unix)]
    if !running_as_root(env.path()) {
        use std::os::unix::fs::PermissionsExt;
        let secret = file(&env, "secret.png", &png(2, 2));
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
        refused(
            &env,
            &server,
            "secret.png",
            "cannot read it (permission denied)",
        );
    }
    let run = env.run(&["ask", "-m", "main", "-a", "missing.png", "hi"]);
    assert!(run.stderr.contains(kinds), "{}", run.stderr);
}

/// Whether the tests run as root, who reads a file of mode 000.
fn running_as_root(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::write(&probe, b"x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::read(&probe).is_ok();
    std::fs::remove_file(&probe).unwrap();
    readable
}

#[test]
fn a_file_over_every_models_limit_is_exit_2_naming_the_file_and_the_limit() {
    let server = MockServer::start(Script::default());
    let env = profile(&[("claude", "anthropic", &server, "claude-haiku-4-5", "")]);
    // 4 MB of file is 5.3 MB of base64: over Anthropic's 5 MB per image.
    let mut big = png(4000, 3000);
    big.resize(4 * 1024 * 1024, 0);
    file(&env, "big.png", &big);
    let run = env.run(&["ask", "-m", "main", "-a", "big.png", "what is this"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "no model can take this request (claude: big.png is 5.3 MB, over anthropic's limit of 5 MB per image (counted in base64))"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("a smaller file"), "{}", run.stderr);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_file_too_large_for_one_provider_goes_to_the_next() {
    let claude = MockServer::start(Script::default());
    let gpt =
        MockServer::start(Script::always(Reply::text("A photo.")).expecting_attachments(&[PNG]));
    let env = profile(&[
        ("claude", "anthropic", &claude, "claude-haiku-4-5", ""),
        ("gpt", "openai", &gpt, "gpt-4o-mini", ""),
    ]);
    let mut big = png(4000, 3000);
    big.resize(4 * 1024 * 1024, 0);
    file(&env, "big.png", &big);
    let run = env.run(&["ask", "-v", "-m", "main", "-a", "big.png", "what is this"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("skipping claude: big.png is 5.3 MB"),
        "{}",
        run.stderr
    );
    assert_eq!((claude.request_count(), gpt.request_count()), (0, 1));
}

#[test]
fn an_image_then_a_follow_up_work_across_a_chain_whose_first_provider_is_down() {
    // -- Setup: `down` answers 503 to everything; `claude` and `gem` see images.
    let down = MockServer::start(Script::always(Reply::status(503)));
    let claude = MockServer::start(Script::always(Reply::text("the button is misaligned")));
    let gem = MockServer::start(Script::always(Reply::text("move it 4px left")));
    let env = profile(&[
        ("down", "openai", &down, "gpt-4o-mini", ""),
        (
            "claude",
            "anthropic",
            &claude,
            vision_model("anthropic"),
            "",
        ),
        ("gem", "gemini", &gem, vision_model("gemini"), ""),
    ]);
    let shot = file(&env, "screenshot.png", &png(64, 32));
    let shot = shot.display().to_string();
    // -- Exec: the image, then a follow-up that continues it elsewhere.
    let first = env.run(&["ask", "-m", "main", "-a", &shot, "what is wrong here"]);
    first.expect_code(0);
    assert_eq!(first.stdout, "the button is misaligned\n");
    let second = env.run(&["ask", "-c", "-m", "down,gem", "fix it"]);
    second.expect_code(0);
    assert_eq!(second.stdout, "move it 4px left\n");
    // -- Check: the follow-up sent the image again, in Gemini's own shape,
    // before the first prompt, then the first answer and the new prompt.
    let body = gem.requests()[0].json();
    let contents = body["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "{body}");
    let first_turn = &contents[0]["parts"];
    assert_eq!(first_turn[0]["inline_data"]["mime_type"], PNG);
    assert_eq!(
        decode(first_turn[0]["inline_data"]["data"].as_str().unwrap()),
        png(64, 32)
    );
    assert_eq!(first_turn[1]["text"], "what is wrong here");
    assert_eq!(contents[1]["parts"][0]["text"], "the button is misaligned");
    assert_eq!(contents[2]["parts"][0]["text"], "fix it");
    // route log shows both turns, the image named in the first.
    let log = env.run(&["log", "--json"]).json();
    let turns = log.as_array().unwrap();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0]["prompt"], "fix it");
    // The name as given on the command line.
    assert_eq!(turns[1]["attachments"][0]["name"], shot.as_str());
    assert_eq!(turns[1]["attachments"][0]["media"], PNG);
    let latest = env.run(&["log", "show"]);
    assert!(latest.stdout.contains("> fix it"), "{}", latest.stdout);
    let whole = env.run(&["log", "show", turns[0]["conversation_id"].as_str().unwrap()]);
    assert!(
        whole
            .stdout
            .contains(&format!("[attached: {shot} (image/png)]")),
        "{}",
        whole.stdout
    );
}
