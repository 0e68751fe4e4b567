#!/usr/bin/env python3
"""Rebuild catalog/catalog.json, route's built-in price catalog, from LiteLLM's price list.

Usage:
    python3 catalog/regenerate.py [SOURCE] [--date YYYY-MM-DD]

SOURCE is LiteLLM's `model_prices_and_context_window.json` (or the
`model_prices_and_context_window_backup.json` shipped inside the wheel), or a litellm
wheel (.whl) to read it from. With no SOURCE, the script runs
`pip download litellm --no-deps` into a temporary folder and uses that wheel.

Writes, next to this script:
  catalog.json  LiteLLM's own format, trimmed (rules below), one entry per line
  VERSION       the date of this regeneration; route reports the built-in catalog as
                `builtin-<that date>` and records it in every ledger row

Trim rules (src/catalog/litellm.rs applies the same ones when it loads a downloaded upstream
file, so keep the two in step):
  - only entries with mode "chat" or "responses" (the Responses-only models);
  - only entries whose litellm_provider is listed in providers.txt, next to this script,
    which src/catalog embeds too (so no "text-completion-openai", no vertex_ai / bedrock / ...
    duplicates);
  - no fine-tuned keys (`ft:` prefix) and no keys that are obviously not chat models
    although LiteLLM files them as chat: NON_CHAT below;
  - only the fields in FIELDS; `max_tokens` stands in for a missing `max_output_tokens`.

Python 3 standard library only.
"""

import argparse
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def read_providers():
    """The LiteLLM providers to keep: catalog/providers.txt, the list src/catalog embeds."""
    with open(os.path.join(HERE, "providers.txt"), encoding="utf-8") as f:
        lines = (line.strip() for line in f)
        return {line for line in lines if line and not line.startswith("#")}


PROVIDERS = read_providers()

# "responses": models served only by the Responses API (gpt-5-pro, the codex models);
# route's `api = "auto"` sends those there.
MODES = {"chat", "responses"}

FIELDS = [
    "litellm_provider",
    "mode",
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "input_cost_per_token_above_200k_tokens",
    "output_cost_per_token_above_200k_tokens",
    "cache_read_input_token_cost_above_200k_tokens",
    "output_cost_per_reasoning_token",
    "cache_creation_input_token_cost_above_1hr",
    "input_cost_per_token_batches",
    "output_cost_per_token_batches",
    "cache_read_input_token_cost_batches",
    "deprecation_date",
    "supports_reasoning",
    "supports_vision",
    "supports_pdf_input",
]

# Matched against the last `/`-separated part of a key. LiteLLM files these under
# mode "chat", but none of them answers a chat prompt with text:
#   container          a code-interpreter container fee, not a model
#   *tts*              text-to-speech
#   lyria*             music generation
#   together-ai-*      Together's price-by-parameter-count buckets, not model ids
NON_CHAT = re.compile(r"^(container|.*tts.*|lyria.*|together-ai-.*)$")

WHEEL_MEMBERS = [
    "litellm/model_prices_and_context_window_backup.json",
    "model_prices_and_context_window_backup.json",
]


def keep(key, entry):
    """Whether an upstream entry belongs in route's catalog."""
    if not isinstance(entry, dict):
        return False
    if entry.get("mode") not in MODES or entry.get("litellm_provider") not in PROVIDERS:
        return False
    if key.startswith("ft:"):
        return False
    return not NON_CHAT.match(key.rsplit("/", 1)[-1])


def trim(entry):
    """The kept fields of one entry."""
    out = {f: entry[f] for f in FIELDS if f in entry}
    if "max_output_tokens" not in out and "max_tokens" in entry:
        out["max_output_tokens"] = entry["max_tokens"]
    return out


def read_wheel(path):
    """The price list inside a litellm wheel, and the wheel's version."""
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        member = next((m for m in WHEEL_MEMBERS if m in names), None)
        if member is None:
            sys.exit(f"error: {path} holds no {WHEEL_MEMBERS[0]}")
        data = wheel.read(member)
    match = re.match(r"litellm-([^-]+)-", os.path.basename(path))
    return data, (match.group(1) if match else "unknown")


def download_wheel(into):
    """Runs `pip download litellm --no-deps` and returns the wheel's path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "litellm", "--no-deps", "--quiet", "-d", into],
        check=True,
    )
    wheels = glob.glob(os.path.join(into, "litellm-*.whl"))
    if not wheels:
        sys.exit("error: pip downloaded no litellm wheel")
    return wheels[0]


def render(catalog):
    """Sorted keys, compact, one entry per line (readable diffs)."""
    lines = [
        json.dumps(key) + ":" + json.dumps(catalog[key], sort_keys=True, separators=(",", ":"))
        for key in sorted(catalog)
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", help="LiteLLM price JSON or litellm wheel")
    parser.add_argument(
        "--date",
        default=datetime.date.today().isoformat(),
        help="date recorded in catalog/VERSION (default: today)",
    )
    parser.add_argument("--out", default=HERE, help="folder to write into (default: catalog/)")
    args = parser.parse_args()

    version = "unknown"
    if args.source is None:
        with tempfile.TemporaryDirectory() as tmp:
            data, version = read_wheel(download_wheel(tmp))
    elif args.source.endswith(".whl"):
        data, version = read_wheel(args.source)
    else:
        with open(args.source, "rb") as f:
            data = f.read()

    upstream = json.loads(data)
    catalog = {key: trim(entry) for key, entry in upstream.items() if keep(key, entry)}
    priced = sum(
        1
        for e in catalog.values()
        if "input_cost_per_token" in e and "output_cost_per_token" in e
    )
    per_provider = {}
    for e in catalog.values():
        per_provider[e["litellm_provider"]] = per_provider.get(e["litellm_provider"], 0) + 1

    text = render(catalog)
    with open(os.path.join(args.out, "catalog.json"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(args.out, "VERSION"), "w", encoding="utf-8") as f:
        f.write(args.date + "\n")

    print(f"litellm version: {version}")
    print(f"upstream entries: {len(upstream)}")
    print(f"kept: {len(catalog)} chat models ({priced} with input and output prices)")
    for provider in sorted(per_provider):
        print(f"  {provider}: {per_provider[provider]}")
    print(f"wrote catalog.json ({len(text.encode('utf-8'))} bytes), VERSION ({args.date})")


if __name__ == "__main__":
    main()
