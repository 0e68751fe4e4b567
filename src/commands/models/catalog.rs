//! `route models --catalog` (the price catalog, searched) and `--update-catalog` (a
//! fresh copy downloaded with the shared client into the data folder).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::list::{price_cell, pricing_pair, tokens};
use super::print_json;
use crate::catalog::{self, Catalog, ModelInfo};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output::table;
use crate::output::table::keep_whole;
use crate::pipeline::advice;
use crate::pipeline::{Context, runtime};
use crate::provider::ProviderKind;
use crate::provider::http;

/// The whole `--update-catalog` download, connection included.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest catalog accepted (`LiteLLM`'s file is a few MB).
const DOWNLOAD_CAP: usize = 32 * 1024 * 1024;

#[derive(Debug, Serialize)]
struct CatalogJson<'a> {
    model: &'a str,
    provider: String,
    context_window: Option<u64>,
    max_output_tokens: Option<u64>,
    input_per_1m: Option<f64>,
    output_per_1m: Option<f64>,
    deprecation_date: Option<&'a str>,
    /// Takes images / PDFs (LiteLLM's `supports_vision` / `supports_pdf_input`);
    /// `null` when the catalog does not say.
    vision: Option<bool>,
    pdf: Option<bool>,
}

pub(super) fn list_catalog(filter: &str, json: bool, ctx: &Context) -> Result<ExitStatus, Error> {
    let catalog = ctx.catalog();
    let filter = filter.trim();
    let found: Vec<(&str, &ModelInfo)> = catalog.search(filter).collect();
    let rows: Vec<CatalogJson<'_>> = found
        .iter()
        .map(|(key, info)| {
            let (input, output) = pricing_pair(info.pricing.as_ref());
            CatalogJson {
                model: key,
                provider: catalog_provider(&catalog, key),
                context_window: info.context_window,
                max_output_tokens: info.max_output_tokens,
                input_per_1m: input,
                output_per_1m: output,
                deprecation_date: info.deprecation_date.as_deref(),
                vision: info.vision,
                pdf: info.pdf,
            }
        })
        .collect();
    let what = if filter.is_empty() {
        String::new()
    } else {
        format!(" matching `{filter}`")
    };
    ctx.printer.note(&format!(
        "route: {} of {} models in the price catalog ({}){what}",
        rows.len(),
        catalog.len(),
        catalog.version()
    ));
    if json {
        print_json(ctx.printer, &rows)?;
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let now = SystemTime::now();
    let mut t = table::new(ctx.printer.stdout_tty, ctx.printer.width(ctx.env));
    t.set_header([
        "model", "provider", "context", "in $/1M", "out $/1M", "retires",
    ]);
    for r in &rows {
        let retires = match r.deprecation_date {
            None => String::new(),
            Some(d) => match advice::days_until(d, now) {
                Some(n) if n < 0 => format!("{d} (retired)"),
                Some(n) if advice::is_near(d, now) => format!("{d} (in {n} days)"),
                _ => d.to_owned(),
            },
        };
        t.add_row([
            r.model.to_owned(),
            r.provider.clone(),
            r.context_window.map_or_else(|| "?".into(), tokens),
            price_cell(r.input_per_1m),
            price_cell(r.output_per_1m),
            retires,
        ]);
    }
    keep_whole(&mut t, &[0]);
    ctx.printer.out(&format!("{t}\n"))?;
    Ok(ExitStatus::Success)
}

/// The provider a catalog key belongs to: its prefix (`gemini/…`, `groq/…`), else the
/// provider kind whose lookup finds it (`gpt-4o` is `OpenAI`'s, `claude-…` Anthropic's).
fn catalog_provider(catalog: &Catalog, key: &str) -> String {
    if let Some((prefix, _)) = key.split_once('/') {
        return prefix.to_owned();
    }
    ProviderKind::NAMES
        .iter()
        .find(|kind| {
            catalog
                .lookup(kind, kind, key)
                .is_some_and(|i| i.key == key)
        })
        .map_or_else(String::new, |k| (*k).to_owned())
}

// -- --update-catalog ------------------------------------------------------------------

pub(super) fn update_catalog(url: &str, ctx: &Context) -> Result<ExitStatus, Error> {
    let url = match url.trim() {
        "" => catalog::DEFAULT_UPDATE_URL,
        u => u,
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::usage(format!(
            "--update-catalog: `{url}` is not an http:// or https:// URL"
        )));
    }
    let dir = ctx
        .data_dir()
        .ok_or_else(|| Error::usage("no data folder to keep the catalog in: set ROUTE_DATA_DIR"))?;
    ctx.printer
        .note(&format!("route: downloading the price catalog from {url}"));
    let bytes = runtime()?.block_on(download(url)).map_err(|e| {
        Error::failed(format!(
            "cannot download the price catalog from {url}: {e}; the catalog in use is unchanged"
        ))
    })?;
    let installed = catalog::install_cache(&dir, &bytes)
        .map_err(|e| Error::failed(format!("{e}; the catalog in use is unchanged")))?;
    ctx.printer.note(&format!(
        "route: installed {} models (catalog {}) into {}",
        installed.len(),
        installed.version(),
        catalog::cache_path(&dir).display()
    ));
    Ok(ExitStatus::Success)
}

/// Downloads `url` with the shared client, within [`DOWNLOAD_TIMEOUT`] and
/// [`DOWNLOAD_CAP`].
async fn download(url: &str) -> Result<Vec<u8>, String> {
    let fetch = async {
        let client = http::client(Duration::from_secs(10)).map_err(|e| e.message)?;
        let mut response = client.get(url).send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > DOWNLOAD_CAP as u64)
        {
            return Err(format!(
                "the file is larger than {} MiB",
                DOWNLOAD_CAP >> 20
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > DOWNLOAD_CAP {
                return Err(format!(
                    "the file is larger than {} MiB",
                    DOWNLOAD_CAP >> 20
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(DOWNLOAD_TIMEOUT, fetch)
        .await
        .map_err(|_| format!("no complete answer within {}s", DOWNLOAD_TIMEOUT.as_secs()))?
}

/// A reqwest error with its causes, which name what actually failed.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}
