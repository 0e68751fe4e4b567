//! The catalog's two copies: the built-in one, embedded and parsed on first use, and the
//! one `route models --update-catalog` downloads into the data dir, preferred when it
//! parses.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use super::{CACHE_FILE_NAME, Catalog};

const BUILTIN_JSON: &[u8] = include_bytes!("../../catalog/catalog.json");
/// The date `catalog/regenerate.py` last ran, as written to `catalog/VERSION`.
const BUILTIN_DATE: &str = include_str!("../../catalog/VERSION");

static BUILTIN: LazyLock<Arc<Catalog>> = LazyLock::new(|| {
    let version = format!("builtin-{}", BUILTIN_DATE.trim());
    match Catalog::from_bytes(std::borrow::Cow::Borrowed(BUILTIN_JSON), version) {
        Ok(catalog) => Arc::new(catalog),
        // Unreachable in a tested build: `builtin_catalog_parses` covers the embedded file.
        Err(err) => panic!("the embedded price catalog does not parse: {err}"),
    }
});

/// The built-in catalog, parsed on first use and shared after that.
pub fn builtin() -> Arc<Catalog> {
    Arc::clone(&BUILTIN)
}

/// The path of the downloaded catalog inside `data_dir`.
pub fn cache_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CACHE_FILE_NAME)
}

/// The catalog to use, and a warning for the user when a cached copy had to be ignored.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The downloaded catalog when there is a usable one, the built-in one otherwise.
    pub catalog: Arc<Catalog>,
    /// Set when `<data dir>/catalog.json` exists but could not be read or parsed; the
    /// caller prints it (without a trailing period, like every message).
    pub warning: Option<String>,
}

/// Loads the catalog for a data dir (the caller resolves `ROUTE_DATA_DIR`): the downloaded
/// `<data_dir>/catalog.json` when it exists and parses, otherwise the built-in one. A
/// missing file is normal and silent; an unreadable or unparseable one yields a warning.
///
/// This reads the file and parses a catalog (the built-in one at most once per process):
/// call it when a price is about to be needed, not at start-up.
pub fn load(data_dir: &Path) -> Loaded {
    let path = cache_path(data_dir);
    let problem = match fs::read(&path) {
        Ok(bytes) => match Catalog::from_json(&bytes, cache_version(&bytes)) {
            Ok(catalog) => {
                return Loaded {
                    catalog: Arc::new(catalog),
                    warning: None,
                };
            }
            Err(err) => err,
        },
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Loaded {
                catalog: builtin(),
                warning: None,
            };
        }
        Err(err) => err.to_string(),
    };
    let catalog = builtin();
    let warning = format!(
        "ignoring the cached price catalog {}: {problem}; using the built-in one ({}); \
         `route models --update-catalog` replaces it",
        path.display(),
        catalog.version(),
    );
    Loaded {
        catalog,
        warning: Some(warning),
    }
}

/// Checks that `bytes` are a usable catalog (LiteLLM's format, at least one chat model of a
/// known provider), then writes them, trimmed to what route reads and in route's layout
/// (as `catalog/regenerate.py` writes the built-in one), to `<data_dir>/catalog.json` atomically: a temporary
/// file in the same folder, renamed over the old one, so that a crash or a concurrent
/// `route` never sees half a file. Creates `data_dir` when needed.
///
/// # Errors
///
/// A message for the user when the bytes are not a usable catalog (the old cache, if any,
/// is then left as it was) or when the file cannot be written.
pub fn install_cache(data_dir: &Path, bytes: &[u8]) -> Result<Catalog, String> {
    let not_usable = |err| format!("the downloaded file is not a usable price catalog: {err}");
    // Kept trimmed, in route's layout, so that every later request reads it by lines.
    let bytes = &super::litellm::trimmed(bytes).map_err(not_usable)?;
    let catalog = Catalog::from_json(bytes, cache_version(bytes)).map_err(not_usable)?;
    fs::create_dir_all(data_dir)
        .map_err(|err| format!("creating {}: {err}", data_dir.display()))?;
    let path = cache_path(data_dir);
    let tmp = data_dir.join(format!(".{CACHE_FILE_NAME}.{}.tmp", std::process::id()));
    let written = fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, &path));
    if let Err(err) = written {
        // Best effort: the temporary file is ours and useless now.
        let _ = fs::remove_file(&tmp);
        return Err(format!("writing {}: {err}", path.display()));
    }
    Ok(catalog)
}

/// `cache-<FNV-1a 64 of the bytes, 16 hex digits>`: identifies a downloaded catalog in the
/// ledger without storing it.
fn cache_version(bytes: &[u8]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    format!("cache-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ModelInfo, Pricing};
    use crate::money::Price;

    fn picos(n: i64) -> Price {
        Price::from_picos(n)
    }

    // -- the embedded catalog -------------------------------------------------------------

    #[test]
    fn builtin_catalog_parses() {
        let catalog = builtin();
        assert_eq!(catalog.version(), "builtin-2026-11-22");
        assert!(catalog.len() > 500, "{} models", catalog.len());
        assert!(
            include_str!("../../catalog/SOURCE.md").contains(BUILTIN_DATE.trim()),
            "catalog/SOURCE.md names the date in catalog/VERSION"
        );
    }

    #[test]
    fn builtin_catalog_is_already_trimmed() {
        // Everything regenerate.py kept survives the loader's own trim, and vice versa the
        // loader keeps nothing the file does not hold.
        let keys = BUILTIN_JSON
            .split(|&b| b == b'\n')
            .filter(|line| line.starts_with(b"\""))
            .count();
        assert_eq!(builtin().len(), keys);
        // Every line is read by route's loader as a kept chat model.
        assert_eq!(builtin().search("").count(), keys);
    }

    // -- upstream files and the cache -----------------------------------------------------

    /// The shape of a fresh upstream file: `sample_spec` with descriptions where numbers
    /// go, fields route does not know (nested too), non-chat modes, other providers.
    const UPSTREAM: &str = r#"{
        "sample_spec": {
            "code_interpreter_cost_per_session": 0.0,
            "deprecation_date": "date when the model becomes deprecated in the format YYYY-MM-DD",
            "input_cost_per_token": 0.0,
            "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
            "max_input_tokens": "max input tokens, if the provider specifies it",
            "max_output_tokens": "max output tokens, if the provider specifies it",
            "mode": "one of: chat, embedding, completion, image_generation",
            "output_cost_per_token": 0.0,
            "search_context_cost_per_query": {"search_context_size_high": 0.0},
            "supported_regions": ["global", "us-west-2"],
            "supports_vision": true
        },
        "gpt-new": {
            "cache_read_input_token_cost": 1.25e-07,
            "input_cost_per_token": 1.25e-06,
            "input_cost_per_token_priority": 2.5e-06,
            "litellm_provider": "openai",
            "max_input_tokens": 272000,
            "max_tokens": 128000,
            "mode": "chat",
            "output_cost_per_token": 1e-05,
            "reasoning_modes": ["standard"],
            "search_context_cost_per_query": {"search_context_size_low": 0.01},
            "some_future_field": {"nested": [1, 2, {"deeper": null}]},
            "supports_reasoning": true,
            "supports_vision": true,
            "supports_pdf_input": false,
            "deprecation_date": "2027-01-31"
        },
        "gpt-unpriced": {"litellm_provider": "openai", "mode": "chat", "max_output_tokens": "4096"},
        "text-embedding-3-small": {"input_cost_per_token": 2e-08, "litellm_provider": "openai", "mode": "embedding"},
        "vertex_ai/claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "litellm_provider": "vertex_ai-anthropic_models", "mode": "chat"},
        "gpt-pro": {"input_cost_per_token": 1.5e-05, "output_cost_per_token": 1.2e-04, "input_cost_per_token_batches": 7.5e-06, "output_cost_per_token_batches": 6e-05, "litellm_provider": "openai", "mode": "responses", "supports_reasoning": true},
        "ft:gpt-4o-2024-08-06": {"input_cost_per_token": 3.75e-06, "output_cost_per_token": 1.5e-05, "litellm_provider": "openai", "mode": "chat"},
        "not-an-entry": "a string",
        "also-not": [1, 2, 3]
    }"#;

    #[test]
    fn upstream_format_with_unknown_fields_loads() {
        let catalog = Catalog::from_json(UPSTREAM.as_bytes(), "test").unwrap();
        let keys: Vec<&str> = catalog.search("").map(|(k, _)| k).collect();
        assert_eq!(keys, ["gpt-new", "gpt-pro", "gpt-unpriced"]);
        let info = catalog.lookup("openai", "openai", "gpt-new").unwrap();
        assert_eq!(
            info,
            &ModelInfo {
                key: "gpt-new".to_owned(),
                pricing: Some(Pricing {
                    cache_read: Some(picos(125_000)),
                    ..Pricing::flat(picos(1_250_000), picos(10_000_000))
                }),
                context_window: Some(272_000),
                max_output_tokens: Some(128_000),
                deprecation_date: Some("2027-01-31".to_owned()),
                vision: Some(true),
                pdf: Some(false),
                reasoning: Some(true),
                responses_only: false,
            }
        );
        // A Responses-only model is kept, marked, with its batch prices.
        let pro = catalog.lookup("openai", "openai", "gpt-pro").unwrap();
        assert!(pro.responses_only);
        assert_eq!(pro.reasoning, Some(true));
        let pricing = pro.pricing.unwrap();
        assert_eq!(
            (pricing.batch_input, pricing.batch_output),
            (Some(picos(7_500_000)), Some(picos(60_000_000)))
        );
        let unpriced = catalog.lookup("openai", "openai", "gpt-unpriced").unwrap();
        assert_eq!(unpriced.pricing, None);
        assert_eq!(unpriced.max_output_tokens, Some(4096));
        // Silent capability fields stay unknown.
        assert_eq!(
            (unpriced.vision, unpriced.pdf, unpriced.reasoning),
            (None, None, None)
        );
    }

    #[test]
    fn the_builtin_catalog_keeps_the_capability_fields() {
        let catalog = builtin();
        let gpt = catalog
            .lookup("openai", "openai", "gpt-4o-2024-11-20")
            .unwrap();
        assert_eq!((gpt.vision, gpt.pdf), (Some(true), Some(true)));
        let o3 = catalog.lookup("openai", "openai", "o3-mini").unwrap();
        assert_eq!(o3.vision, Some(false));
        let sonnet = catalog
            .lookup("anthropic", "anthropic", "claude-sonnet-4-6")
            .unwrap();
        assert_eq!((sonnet.vision, sonnet.pdf), (Some(true), Some(true)));
    }

    #[test]
    fn files_without_chat_models_are_rejected() {
        assert!(Catalog::from_json(b"{}", "x").is_err());
        assert!(Catalog::from_json(b"[]", "x").is_err());
        assert!(Catalog::from_json(b"{\"gpt-4o\": ", "x").is_err());
        assert!(Catalog::from_json(b"<html>rate limited</html>", "x").is_err());
    }

    #[test]
    fn cache_version_is_fnv1a_of_the_bytes() {
        // FNV-1a 64 test vectors: "" and "a".
        assert_eq!(cache_version(b""), "cache-cbf29ce484222325");
        assert_eq!(cache_version(b"a"), "cache-af63dc4c8601ec8c");
    }

    #[test]
    fn missing_cache_means_builtin_without_warning() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(dir.path());
        assert!(loaded.warning.is_none());
        assert_eq!(loaded.catalog.version(), builtin().version());
    }

    #[test]
    fn corrupt_cache_falls_back_to_builtin_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(cache_path(dir.path()), b"{\"gpt-4o\": {\"mode\": ").unwrap();
        let loaded = load(dir.path());
        assert_eq!(loaded.catalog.version(), builtin().version());
        let warning = loaded.warning.unwrap();
        assert!(
            warning.contains("ignoring the cached price catalog"),
            "{warning}"
        );
        assert!(
            warning.contains(&cache_path(dir.path()).display().to_string()),
            "{warning}"
        );
        assert!(!warning.ends_with('.'), "{warning}");
    }

    #[test]
    fn installed_cache_is_used_instead_of_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("not-yet-created");
        let installed = install_cache(&data_dir, UPSTREAM.as_bytes()).unwrap();
        assert_eq!(installed.len(), 3);
        // Stored trimmed, one entry a line: every model route read, none it skipped.
        let stored = fs::read(cache_path(&data_dir)).unwrap();
        let text = String::from_utf8(stored.clone()).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.starts_with('"')).count(),
            3,
            "{text}"
        );
        assert!(!text.contains("some_future_field"), "{text}");
        let upstream = Catalog::from_json(UPSTREAM.as_bytes(), "upstream").unwrap();
        assert_eq!(
            installed.search("").collect::<Vec<_>>(),
            upstream.search("").collect::<Vec<_>>()
        );
        // Only the catalog is left in the folder: the temporary file was renamed.
        assert_eq!(fs::read_dir(&data_dir).unwrap().count(), 1);
        let loaded = load(&data_dir);
        assert!(loaded.warning.is_none());
        assert_eq!(loaded.catalog.version(), cache_version(&stored));
        assert!(loaded.catalog.version().starts_with("cache-"));
        assert_eq!(loaded.catalog.version().len(), "cache-".len() + 16);
        assert!(
            loaded
                .catalog
                .lookup("openai", "openai", "gpt-new")
                .is_some()
        );
    }

    #[test]
    fn installing_a_bad_file_keeps_the_old_cache() {
        let dir = tempfile::tempdir().unwrap();
        install_cache(dir.path(), UPSTREAM.as_bytes()).unwrap();
        let before = fs::read(cache_path(dir.path())).unwrap();
        let err = install_cache(dir.path(), b"<html>404</html>").unwrap_err();
        assert!(err.contains("not a usable price catalog"), "{err}");
        assert_eq!(fs::read(cache_path(dir.path())).unwrap(), before);
    }
}
