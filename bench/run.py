#!/usr/bin/env python3
"""route's benchmark runner: whole-process figures against local mock providers.

Every figure is measured against a baseline taken in the same run (curl talking
to the same mock, or route asking the fallback model directly), because absolute
times drift on a shared machine. Each figure is reported as a median with its
spread (interquartile range) over repeated runs, and as a ratio or difference to
its baseline. Nothing here touches the network: the providers are `route-mock`
processes on 127.0.0.1, and the profile, ledger and catalog cache live in a
temporary folder.

Usage:
    cargo build --release -p route --bin route -p route-mock --bin route-mock
    python3 bench/run.py                  # full run; exit 1 if a target is missed
    python3 bench/run.py --quick          # smoke run: few repetitions, small sizes
    python3 bench/run.py --write BENCHMARKS.md   # also replace the results section

Python 3 standard library only; hyperfine and /usr/bin/time are not needed.
See BENCHMARKS.md for what each figure means and the latest results.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The figure names, in report order. The smoke test checks that each is printed.
FIGURES = [
    "start-up",
    "per-request overhead",
    "first token",
    "stream throughput",
    "failover",
    "fan-out",
    "memory",
    "ledger",
    "conversations",
    "peer",
]

PROMPT = "Explain TCP slow start"
MODEL_ID = "gpt-4o-mini"  # in the built-in catalog, so `ask` prices the answer
# The mock takes any key; route and curl both send this one.
KEY_ENV, KEY = "ROUTE_BENCH_KEY", "not-a-real-key"


# --------------------------------------------------------------------------- sizes


@dataclass
class Sizes:
    reps: int  # repetitions of a cheap measure
    slow_reps: int  # repetitions of a measure that takes ~1 s
    warmup: int
    answer_tokens: int  # the per-request answer
    ft_tokens: int  # first token / fan-out: tokens ...
    ft_delay_ms: int  # ... this far apart
    stream_tokens: int  # stream throughput
    hang_timeout_ms: int  # first-token timeout of the hang failover case
    ledger_rows: int
    fanout: int

    @staticmethod
    def full() -> "Sizes":
        return Sizes(
            reps=41,
            slow_reps=9,
            warmup=3,
            answer_tokens=50,
            ft_tokens=200,
            ft_delay_ms=5,
            stream_tokens=100_000,
            hang_timeout_ms=1000,
            ledger_rows=1_000_000,
            fanout=8,
        )

    @staticmethod
    def quick() -> "Sizes":
        return Sizes(
            reps=2,
            slow_reps=2,
            warmup=1,
            answer_tokens=50,
            ft_tokens=20,
            ft_delay_ms=5,
            stream_tokens=500,
            hang_timeout_ms=200,
            ledger_rows=2_000,
            fanout=8,
        )


# ------------------------------------------------------------------ measurement


@dataclass
class Run:
    wall_ms: float
    code: int
    first_byte_ms: float | None = None
    stderr: str = ""


def run(cmd: list[str], env: dict[str, str], first_byte: bool = False) -> Run:
    """Runs a command once: wall time from before the spawn to after the reap,
    and optionally the time until the first byte arrives on its stdout pipe."""
    stdout = subprocess.PIPE if first_byte else subprocess.DEVNULL
    start = time.perf_counter_ns()
    p = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    fb = None
    if first_byte:
        assert p.stdout is not None
        fd = p.stdout.fileno()
        chunk = os.read(fd, 65536)
        if chunk:
            fb = (time.perf_counter_ns() - start) / 1e6
            while os.read(fd, 1 << 20):
                pass
    # stderr is small (a summary line); read it after stdout is drained.
    assert p.stderr is not None
    err = p.stderr.read()
    _, status = os.waitpid(p.pid, 0)
    end = time.perf_counter_ns()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.stdout is not None:
        p.stdout.close()
    p.stderr.close()
    return Run(
        wall_ms=(end - start) / 1e6,
        code=p.returncode,
        first_byte_ms=fb,
        stderr=err.decode(errors="replace"),
    )


class Failed(Exception):
    """A benchmarked command did not succeed."""


def checked(r: Run, cmd: list[str]) -> Run:
    if r.code != 0:
        first = next((ln for ln in r.stderr.splitlines() if ln.strip()), "")
        raise Failed(f"`{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}` exited {r.code}: {first}")
    return r


def series(cmd: list[str], env: dict[str, str], n: int, warmup: int, first_byte: bool = False) -> list[Run]:
    for _ in range(warmup):
        checked(run(cmd, env, first_byte), cmd)
    return [checked(run(cmd, env, first_byte), cmd) for _ in range(n)]


def paired(cmds: list[list[str]], env: dict[str, str], n: int, warmup: int, first_byte: bool = False,
           envs: list[dict[str, str]] | None = None) -> list[list[Run]]:
    """Runs several commands n times each, interleaved, rotating which goes first,
    so that drift on the machine hits all of them alike."""
    envs = envs or [env] * len(cmds)
    for _ in range(warmup):
        for c, e in zip(cmds, envs):
            checked(run(c, e, first_byte), c)
    out: list[list[Run]] = [[] for _ in cmds]
    for i in range(n):
        order = list(range(len(cmds)))
        k = i % len(cmds)
        order = order[k:] + order[:k]
        for j in order:
            out[j].append(checked(run(cmds[j], envs[j], first_byte), cmds[j]))
    return out


@dataclass
class Stat:
    median: float
    q1: float
    q3: float
    n: int

    @staticmethod
    def of(xs: list[float]) -> "Stat":
        xs = sorted(xs)
        if len(xs) >= 2:
            q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
        else:
            q1 = q3 = xs[0]
        return Stat(statistics.median(xs), q1, q3, len(xs))

    def fmt(self, unit: str, digits: int = 2) -> str:
        return f"{self.median:.{digits}f} {unit}"

    def spread(self, unit: str, digits: int = 2) -> str:
        return f"{self.q1:.{digits}f}–{self.q3:.{digits}f} {unit} (n={self.n})"


def walls(runs: list[Run]) -> Stat:
    return Stat.of([r.wall_ms for r in runs])


GNU_TIME = "/usr/bin/time"


def peak_rss_mb(cmd: list[str], env: dict[str, str], n: int) -> float | None:
    """The command's own peak RSS, the largest of n runs, through GNU time.

    Python cannot take it from wait4: Linux keeps a process's RSS high-water
    mark across exec, so a child of this runner starts out with the runner's
    own ~14 MB. GNU time is a small C program whose child starts small.
    None when GNU time is not installed (`apt-get install -y time`)."""
    if not os.access(GNU_TIME, os.X_OK):
        return None
    peak = 0
    with tempfile.NamedTemporaryFile() as f:
        for _ in range(n):
            p = subprocess.run([GNU_TIME, "-f", "%M", "-o", f.name, *cmd], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if p.returncode != 0:
                raise Failed(f"`{Path(cmd[0]).name} {cmd[1]}` exited {p.returncode} under GNU time: "
                             f"{p.stderr.decode(errors='replace').strip()[-200:]}")
            peak = max(peak, int(Path(f.name).read_text().split()[-1]))
    return peak / 1024


def pair_diff(a: list[Run], b: list[Run], key=lambda r: r.wall_ms) -> Stat:
    return Stat.of([key(x) - key(y) for x, y in zip(a, b)])


def pair_ratio(a: list[Run], b: list[Run], key=lambda r: r.wall_ms) -> Stat:
    return Stat.of([key(x) / key(y) for x, y in zip(a, b)])


# ---------------------------------------------------------------------- results


@dataclass
class Row:
    figure: str
    measure: str
    value: str
    spread: str = ""
    baseline: str = ""
    vs: str = ""  # ratio or difference to the baseline
    target: str = ""
    met: bool | None = None  # None: informational, or not measured


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        mark = {True: "met", False: "NOT MET", None: ""}[row.met]
        print(f"  {row.figure}: {row.measure}: {row.value} [{row.spread}] {row.vs} {mark}".rstrip(),
              file=sys.stderr, flush=True)

    def skip(self, figure: str, why: str) -> None:
        self.add(Row(figure, "not measured", "—", vs=why))

    def markdown(self) -> str:
        lines = [
            "| figure | measure | median | spread (IQR) | baseline (median) | vs baseline | target | met |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            met = {True: "met", False: "**not met**", None: "—"}[r.met]
            lines.append(
                f"| {r.figure} | {r.measure} | {r.value} | {r.spread} | {r.baseline} | {r.vs} | {r.target} | {met} |"
            )
        return "\n".join(lines)


def ms(x: float) -> str:
    return f"{x:.2f} ms"


# ------------------------------------------------------------------ environment


class Mock:
    """One `route-mock` process; its first stdout line is its URL."""

    def __init__(self, binary: Path, *args: str):
        self.proc = subprocess.Popen(
            [str(binary), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"route-mock printed {line!r} instead of its URL")
        self.url = line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting is refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def toml_str(s: str) -> str:
    return json.dumps(s)


def write_profile(path: Path, providers: dict[str, str | tuple[str, str]], models: dict[str, tuple[str, str]],
                  chains: dict[str, tuple[list[str], dict[str, str]]], default: str) -> None:
    """A profile; a provider is a base URL (kind openai) or (kind, base URL)."""
    out = [f"default = {toml_str(default)}", ""]
    for name, spec in providers.items():
        kind, url = spec if isinstance(spec, tuple) else ("openai", spec)
        out += [f"[providers.{name}]", f"kind = {toml_str(kind)}", f"base_url = {toml_str(url)}",
                f"api_key_env = {toml_str(KEY_ENV)}", ""]
    for alias, (provider, model) in models.items():
        out += [f"[models.{alias}]", f"provider = {toml_str(provider)}", f"model = {toml_str(model)}", ""]
    for name, (members, settings) in chains.items():
        out += [f"[chains.{name}]", "models = [" + ", ".join(toml_str(m) for m in members) + "]"]
        out += [f"{k} = {v}" for k, v in settings.items()]
        out.append("")
    path.write_text("\n".join(out))


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "not found"
    try:
        curl = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        curl = "not found"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "kernel": f"{platform.system()} {platform.release()}",
        "rustc": rustc,
        "curl": curl,
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------------- ledger


def fill_ledger(db: Path, rows: int, now_ms: int, skewed: bool = False) -> None:
    """Adds `rows` synthetic attempts (one per request, 20 models at 5 providers,
    spread over 90 days, 95 % answered) to a ledger that `route` created, so the
    schema is route's own. Columns are filled by name, and the rollups `route`
    keeps next to the rows (`dims`, `buckets`, `dim_totals`: see src/ledger) are filled the
    way `Ledger::record` fills them, when the schema has them."""
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    cols = [r[1] for r in conn.execute("PRAGMA table_info(attempts)") if r[1] != "id"]
    providers = ["openai", "anthropic", "gemini", "openrouter", "groq"]
    models = [f"model-{i}" for i in range(20)]
    tags = [None, "work", "home"]
    rnd = random.Random(8)
    span = 90 * 86_400_000
    dims: dict[tuple, int] = {}
    if "dims" in tables:
        for m, model in enumerate(models):
            prov = providers[m % len(providers)]
            for tag in tags:
                cur = conn.execute("INSERT INTO dims (health_key, label, tag, provider) VALUES (?, ?, ?, ?)",
                                   (f"{prov}/{model}", model, tag, prov))
                dims[(m, tag)] = cur.lastrowid
    # Skewed: models by Zipf's law (the k-th is used 1/k as often as the first),
    # most requests untagged; uniform: every model and tag alike (the worst case
    # for the rollups: every combination in every 15-minute slot).
    model_ids = list(range(len(models)))
    model_cum = list(itertools.accumulate(1 / (k + 1) for k in model_ids))
    tag_cum = [0.80, 0.95, 1.0]
    # flags (src/ledger/mod.rs `flags`): REQUEST | MODEL | PROVIDER | ALIAS, + ANSWERED.
    first_of_request, answered = 0b1111, 1 << 5

    def gen():
        for i in range(rows):
            if skewed:
                m = rnd.choices(model_ids, cum_weights=model_cum)[0]
                tag = rnd.choices(tags, cum_weights=tag_cum)[0]
            else:
                m, tag = rnd.randrange(len(models)), tags[i % 3]
            prov = providers[m % len(providers)]
            ok = rnd.random() < 0.95
            at = now_ms - rnd.randrange(span)
            inp, out = rnd.randrange(20, 4000), rnd.randrange(10, 1500)
            v = {
                "request_id": f"{at:013x}{i:011x}",
                "attempt": 1,
                "at": at,
                "command": "ask",
                "alias": models[m],
                "label": models[m],
                "provider": prov,
                "model": models[m],
                "served_model": models[m],
                "health_key": f"{prov}/{models[m]}",
                "outcome": "ok" if ok else "error",
                "error_kind": None if ok else "server",
                "http_status": None if ok else 500,
                "error_message": None if ok else "HTTP 500",
                "input_tokens": inp if ok else None,
                "cached_input_tokens": 0 if ok else None,
                "cache_write_tokens": 0 if ok else None,
                "output_tokens": out if ok else None,
                "reasoning_tokens": 0 if ok else None,
                "cost": (inp * 150_000 + out * 600_000) if ok else None,
                "catalog_version": "bench",
                "ttft_ms": rnd.randrange(100, 900) if ok else None,
                "latency_ms": rnd.randrange(200, 9000),
                "tag": tag,
                "fallback": 0,
                "dim": dims.get((m, tag)),
                "flags": first_of_request | (answered if ok else 0),
            }
            yield tuple(v.get(c) for c in names)

    # Columns this generator does not know keep their defaults.
    known = {"request_id", "attempt", "at", "command", "alias", "label", "provider", "model", "served_model",
             "health_key", "outcome", "error_kind", "http_status", "error_message", "input_tokens",
             "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "cost",
             "catalog_version", "ttft_ms", "latency_ms", "tag", "fallback"}
    if dims:
        known |= {"dim", "flags"}
    names = [c for c in cols if c in known]
    with conn:
        conn.executemany(f"INSERT INTO attempts ({','.join(names)}) VALUES ({','.join('?' * len(names))})", gen())
        if "buckets" in tables:
            # The same sums as UPSERT_BUCKET, one row per 15-minute slot and dim.
            conn.execute("DELETE FROM buckets")
            conn.execute(
                """INSERT INTO buckets (slot, dim, requests, model_requests, provider_requests, alias_requests,
                       attempts, input_tokens, output_tokens, cost, unknown_costs, answered, fell_back)
                   SELECT at / 900000, dim, SUM(flags & 1 != 0), SUM(flags & 2 != 0), SUM(flags & 4 != 0),
                       SUM(flags & 8 != 0), COUNT(*), SUM(COALESCE(input_tokens, 0)),
                       SUM(COALESCE(output_tokens, 0)), SUM(COALESCE(provider_cost, cost, 0)),
                       SUM(flags & 16 != 0), SUM(flags & 32 != 0), SUM(flags & 64 != 0)
                   FROM attempts GROUP BY at / 900000, dim""")
        if "dim_totals" in tables:
            # UPSERT_TOTAL: the same sums per dim over all time.
            conn.execute("DELETE FROM dim_totals")
            conn.execute(
                """INSERT INTO dim_totals SELECT dim, SUM(requests), SUM(model_requests), SUM(provider_requests),
                       SUM(alias_requests), SUM(attempts), SUM(input_tokens), SUM(output_tokens), SUM(cost),
                       SUM(unknown_costs), SUM(answered), SUM(fell_back)
                   FROM buckets GROUP BY dim""")
    conn.close()


# --------------------------------------------------------------------- figures


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sizes = Sizes.quick() if args.quick else Sizes.full()
        self.enforce = not args.quick
        self.bin = Path(args.bin_dir).resolve()
        self.route = str(self.bin / "route")
        self.mock_bin = self.bin / "route-mock"
        self.curl = shutil.which("curl")
        self.report = Report()
        self.tmp = Path(tempfile.mkdtemp(prefix="route-bench-"))
        self.mocks: list[Mock] = []

    def met(self, ok: bool) -> bool | None:
        return ok if self.enforce else None

    def rss(self, figure: str, measure: str, cmd: list[str], env: dict[str, str], limit_mb: float | None) -> None:
        mb = peak_rss_mb(cmd, env, 1 if self.args.quick else 5)
        target = f"≤ {limit_mb:.0f} MB" if limit_mb else ""
        if mb is None:
            self.report.add(Row(figure, measure, "—", vs=f"GNU time is not installed ({GNU_TIME})", target=target))
            return
        self.report.add(Row(figure, measure, f"{mb:.1f} MB", target=target,
                            met=self.met(mb <= limit_mb) if limit_mb else None))

    def env(self, profile: Path | None = None, data: Path | None = None) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items()
            if not k.endswith("_API_KEY") and k not in ("OLLAMA_HOST", "ROUTE_PROFILE", "ROUTE_DATA_DIR")
        }
        env["NO_COLOR"] = "1"
        env[KEY_ENV] = KEY
        env["ROUTE_PROFILE"] = str(profile or self.profile)
        env["ROUTE_DATA_DIR"] = str(data or self.data)
        # The directories crate must not find a real config or data folder either.
        env["HOME"] = str(self.tmp / "home")
        env["XDG_CONFIG_HOME"] = str(self.tmp / "home" / ".config")
        env["XDG_DATA_HOME"] = str(self.tmp / "home" / ".local" / "share")
        return env

    def mock(self, *args: str) -> Mock:
        m = Mock(self.mock_bin, *args)
        self.mocks.append(m)
        return m

    def setup(self) -> None:
        s = self.sizes
        (self.tmp / "home").mkdir()
        self.data = self.tmp / "data"
        self.data.mkdir()
        self.answer = self.mock("--tokens", str(s.answer_tokens))
        self.paced = self.mock("--tokens", str(s.ft_tokens), "--delay-ms", str(s.ft_delay_ms))
        self.big = self.mock("--tokens", str(s.stream_tokens))
        self.hang = self.mock("--reply", "hang")
        providers = {
            "mock": f"{self.answer.url}/v1",
            "paced": f"{self.paced.url}/v1",
            "big": f"{self.big.url}/v1",
            "hangs": f"{self.hang.url}/v1",
            "refuses": f"http://127.0.0.1:{closed_port()}/v1",
            "fails": f"{self.answer.url}/fail/500/v1",
        }
        models = {
            "answer": ("mock", MODEL_ID),
            "paced": ("paced", MODEL_ID),
            "big": ("big", MODEL_ID),
            "hanging": ("hangs", MODEL_ID),
            "refusing": ("refuses", MODEL_ID),
            "failing": ("fails", MODEL_ID),
        }
        for i in range(1, s.fanout + 1):
            models[f"fan{i}"] = ("paced", MODEL_ID)
        # A failing primary must be tried on every run: no cooldown builds up,
        # and a 500 moves on at once (retries = 0; with the default retries = 1
        # the router waits `backoff` and tries the same model again, by design).
        fo = {"retries": "0", "allowed_fails": "1000"}
        chains = {
            "refused": (["refusing", "answer"], fo),
            "status500": (["failing", "answer"], fo),
            "hang": (["hanging", "answer"], {**fo, "first_token_timeout": toml_str(f"{s.hang_timeout_ms}ms")}),
        }
        self.profile = self.tmp / "profile.toml"
        write_profile(self.profile, providers, models, chains, "answer")
        # `route models`: ten aliases at three kinds of provider, pinned and floating ids,
        # some retiring soon, all priced from the built-in catalog, and a chain. Nothing is
        # sent: the URLs only have to parse.
        models10 = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o-2024-08-06"), ("openai", "gpt-4.1"),
                    ("openai", "o3-mini"), ("openai", "gpt-5"),
                    ("anthropic", "claude-sonnet-4-5-20250929"), ("anthropic", "claude-haiku-4-5"),
                    ("gemini", "gemini-2.5-flash"), ("gemini", "gemini-2.5-pro"),
                    ("gemini", "gemini-2.0-flash")]
        self.models_profile = self.tmp / "models.toml"
        write_profile(
            self.models_profile,
            {k: (k, f"{self.answer.url}/{k}") for k in ("openai", "anthropic", "gemini")},
            {f"m{i}": m for i, m in enumerate(models10)},
            {"main": (["m0", "m5", "m7"], {})},
            "main",
        )

    def curl_cmd(self, url: str, stream: bool) -> list[str]:
        body = {"model": MODEL_ID, "messages": [{"role": "user", "content": PROMPT}], "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        cmd = [self.curl or "curl", "-sS", "--fail", "-H", "content-type: application/json",
               "-H", f"authorization: Bearer {KEY}",
               "-d", json.dumps(body), f"{url}/v1/chat/completions"]
        if stream:
            cmd.insert(1, "-N")
        return cmd

    def ask(self, model: str, *flags: str) -> list[str]:
        return [self.route, "ask", "-m", model, *flags, PROMPT]

    # -- figures ------------------------------------------------------------

    def startup(self) -> None:
        s, env = self.sizes, self.env()
        true = shutil.which("true") or "/bin/true"
        cmds = [[self.route, "--version"], [true]]
        if self.curl:
            cmds.append([self.curl, "--version"])
        r = paired(cmds, env, s.reps, s.warmup)
        route, floor = walls(r[0]), walls(r[1])
        curl = walls(r[2]) if self.curl else None
        self.report.add(Row(
            "start-up", "`route --version` wall", ms(route.median), route.spread("ms"),
            f"curl --version {ms(curl.median)}" if curl else "",
            f"×{route.median / curl.median:.2f} (spawn floor /bin/true {ms(floor.median)})" if curl else "",
            "≤ 2 ms", self.met(route.median <= 2.0)))
        self.rss("start-up", "`route --version` peak RSS", cmds[0], env, 8.0)
        menv = self.env(profile=self.models_profile)
        cmd = [self.route, "models"]
        first = run(cmd, menv)
        if first.code != 0 or "not written" in first.stderr:
            self.report.skip("start-up", f"`route models` does not run yet: {first.stderr.strip().splitlines()[-1:]}")
            return
        rm = paired([cmd, [true]], menv, s.reps, s.warmup)
        m = walls(rm[0])
        self.report.add(Row(
            "start-up", "`route models` (10 aliases, built-in catalog) wall", ms(m.median), m.spread("ms"),
            f"curl --version {ms(curl.median)}" if curl else "",
            f"×{m.median / curl.median:.2f}" if curl else "",
            "≤ 6 ms", self.met(m.median <= 6.0)))
        self.rss("start-up", "`route models` peak RSS", cmd, menv, 8.0)

    def per_request(self) -> None:
        if not self.curl:
            self.report.skip("per-request overhead", "curl not found")
            return
        s, env = self.sizes, self.env()
        curl = self.curl_cmd(self.answer.url, stream=False)
        cmds = [
            curl,
            self.ask("answer", "--no-stream"),
            self.ask("answer", "--no-stream", "--no-log"),
            self.ask("answer"),
            self.ask("answer", "--no-log"),
        ]
        r = paired(cmds, env, s.reps, s.warmup)
        c = walls(r[0])
        self.curl_request_ms = c.median
        names = ["`ask --no-stream`", "`ask --no-stream --no-log`", "`ask` (streamed)", "`ask --no-log` (streamed)"]
        for name, runs in zip(names, r[1:]):
            w = walls(runs)
            ratio = pair_ratio(runs, r[0])
            enforce = name == "`ask --no-stream`"
            self.report.add(Row(
                "per-request overhead", f"{name}, {s.answer_tokens}-token answer", ms(w.median), w.spread("ms"),
                f"curl {ms(c.median)}",
                f"×{ratio.median:.2f} paired ({pair_diff(runs, r[0]).median:+.2f} ms)",
                "≤ curl (×1.00)" if enforce else "",
                self.met(ratio.median <= 1.0) if enforce else None))
        # The ledger's share: the same request with and without recording it.
        d = pair_diff(r[1], r[2])
        self.insert_ms = d

    def first_token(self) -> None:
        if not self.curl:
            self.report.skip("first token", "curl not found")
            return
        s, env = self.sizes, self.env()
        cmds = [self.curl_cmd(self.paced.url, stream=True), self.ask("paced"), self.ask("paced", "--no-log")]
        r = paired(cmds, env, s.slow_reps, 1, first_byte=True)
        key = lambda x: x.first_byte_ms  # noqa: E731
        c = Stat.of([x.first_byte_ms for x in r[0]])
        for name, runs in zip(["`ask`", "`ask --no-log`"], r[1:]):
            f = Stat.of([x.first_byte_ms for x in runs])
            d = pair_diff(runs, r[0], key)
            enforce = name == "`ask`"
            self.report.add(Row(
                "first token", f"{name}: first answer byte on stdout ({s.ft_tokens} tokens {s.ft_delay_ms} ms apart)",
                ms(f.median), f.spread("ms"), f"curl first byte {ms(c.median)}",
                f"{d.median:+.2f} ms paired", "≤ curl + 1 ms" if enforce else "",
                self.met(d.median <= 1.0) if enforce else None))

    def stream(self) -> None:
        if not self.curl:
            self.report.skip("stream throughput", "curl not found")
            return
        s, env = self.sizes, self.env()
        cmds = [self.curl_cmd(self.big.url, stream=True), self.ask("big"), self.ask("big", "--no-log")]
        r = paired(cmds, env, s.slow_reps, 1)
        c = walls(r[0])
        for name, runs in zip(["`ask`", "`ask --no-log`"], r[1:]):
            w = walls(runs)
            rate = Stat.of([y.wall_ms / x.wall_ms for x, y in zip(runs, r[0])])
            enforce = name == "`ask`"
            self.report.add(Row(
                "stream throughput", f"{name}, {s.stream_tokens:,}-token streamed answer, wall",
                ms(w.median), w.spread("ms"), f"mock send time (curl) {ms(c.median)}",
                f"{rate.median:.3f} of the mock's rate", "≥ 0.98" if enforce else "",
                self.met(rate.median >= 0.98) if enforce else None))
        self.rss("stream throughput", "peak RSS of `ask` on that answer", cmds[1], env, None)
        if self.args.parser:
            self.parser()
        else:
            self.report.add(Row("stream throughput", "SSE parser alone", "—",
                                vs="run `cargo bench --bench sse` (skipped by --quick / --no-parser)"))

    def parser(self) -> None:
        cmd = ["cargo", "bench", "--quiet", "--bench", "sse", "--", "--machine"]
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        found = False
        for line in p.stdout.splitlines():
            m = re.match(r"^bench (\S+) median_mbps=([\d.]+) q1=([\d.]+) q3=([\d.]+) n=(\d+)", line)
            if not m:
                continue
            found = True
            name, med, q1, q3, n = m.group(1), float(m.group(2)), m.group(3), m.group(4), m.group(5)
            enforce = name == "openai-decoder"
            self.report.add(Row(
                "stream throughput", f"parser alone: {name} (cargo bench)", f"{med:.0f} MB/s",
                f"{q1}–{q3} MB/s (n={n})", "", "", "≥ 200 MB/s" if enforce else "",
                self.met(med >= 200) if enforce else None))
        if not found:
            self.report.skip("stream throughput", f"cargo bench failed: {p.stderr.strip()[-300:]}")

    def failover(self) -> None:
        s, env = self.sizes, self.env()
        direct = self.ask("answer", "--no-log")
        cases = [
            ("refused", "primary refuses the connection", 3.0),
            ("status500", "primary answers 500 (retries = 0)", 3.0),
            ("hang", f"primary hangs (first-token timeout {s.hang_timeout_ms} ms)", s.hang_timeout_ms + 5.0),
        ]
        for chain, what, limit in cases:
            n = s.slow_reps if chain == "hang" else s.reps
            r = paired([self.ask(chain, "--no-log"), direct], env, n, 1 if chain == "hang" else s.warmup)
            w, d = walls(r[0]), pair_diff(r[0], r[1])
            target = f"≤ +{limit - s.hang_timeout_ms:.0f} ms over the timeout" if chain == "hang" else f"≤ +{limit:.0f} ms"
            self.report.add(Row(
                "failover", f"{what}: fallback's full answer (`--no-log`)", ms(w.median), w.spread("ms"),
                f"fallback asked directly {ms(walls(r[1]).median)}", f"{d.median:+.2f} ms paired",
                target, self.met(d.median <= limit)))

    def fanout(self) -> None:
        s, env = self.sizes, self.env()
        models = [f"fan{i}" for i in range(1, s.fanout + 1)]
        many = [self.route, "compare", "--no-log", *sum((["-m", m] for m in models), []), PROMPT]
        one = [self.route, "compare", "--no-log", "-m", models[0], PROMPT]
        probe = run(one, env)
        if probe.code != 0:
            why = (probe.stderr.strip().splitlines() or ["?"])[-1]
            self.report.skip("fan-out", f"`route compare` does not run yet: {why}")
            self.report.skip("memory", "`route compare` does not run yet")
            self.compare_cmd = None
            return
        r = paired([many, one, self.ask("paced", "--no-log")], env, s.slow_reps, 1)
        w, base = walls(r[0]), walls(r[1])
        ratio = pair_ratio(r[0], r[1])
        self.report.add(Row(
            "fan-out", f"`compare` on {s.fanout} models, each {s.ft_tokens} tokens {s.ft_delay_ms} ms apart",
            ms(w.median), w.spread("ms"), f"`compare` on one {ms(base.median)}; `ask` {ms(walls(r[2]).median)}",
            f"×{ratio.median:.3f} paired", "≤ ×1.02", self.met(ratio.median <= 1.02)))
        self.compare_cmd = many

    def memory(self) -> None:
        env = self.env()
        self.rss("memory", "peak RSS of `ask --no-stream`", self.ask("answer", "--no-stream"), env, 10.0)
        self.rss("memory", "peak RSS of `ask` (streamed)", self.ask("answer"), env, 10.0)
        c = getattr(self, "compare_cmd", None)
        if c:
            self.rss("memory", f"peak RSS of `compare` on {self.sizes.fanout} models", c, env, 20.0)

    def ledger(self) -> None:
        s = self.sizes
        d = getattr(self, "insert_ms", None)
        if d is not None:
            self.report.add(Row(
                "ledger", "one insert: `ask --no-stream` minus `ask --no-stream --no-log`, paired",
                ms(d.median), d.spread("ms"), "", "", "≤ 1 ms", self.met(d.median <= 1.0)))
        data = self.tmp / "ledger"
        data.mkdir()
        env = self.env(data=data)
        # route creates the file and its schema; the rows are added with SQLite.
        checked(run(self.ask("answer", "--no-stream"), env), ["route ask"])
        db = data / "ledger.db"
        if not db.exists():
            self.report.skip("ledger", "`route ask` wrote no ledger.db")
            return
        t = time.perf_counter()
        fill_ledger(db, s.ledger_rows, int(time.time() * 1000))
        print(f"  (filled {s.ledger_rows:,} rows in {time.perf_counter() - t:.1f} s)", file=sys.stderr)
        cmd = [self.route, "cost", "--by", "model"]
        probe = run(cmd, env)
        if probe.code != 0:
            why = (probe.stderr.strip().splitlines() or ["?"])[-1]
            self.report.skip("ledger", f"`route cost --by model` does not run yet: {why}")
            return
        r = series(cmd, env, s.slow_reps, 1)
        w = walls(r)
        self.report.add(Row(
            "ledger", f"`cost --by model` over {s.ledger_rows:,} rows, uniform use (20 models × 3 tags)",
            ms(w.median), w.spread("ms"),
            "", "", "≤ 300 ms", self.met(w.median <= 300.0)))
        self.rss("ledger", f"peak RSS of `cost --by model` over {s.ledger_rows:,} rows", cmd, env, None)
        # With --since the sums come from the 15-minute buckets instead.
        w = walls(series([*cmd, "--since", "30d"], env, s.slow_reps, 1))
        self.report.add(Row(
            "ledger", f"`cost --by model --since 30d` over {s.ledger_rows:,} rows, uniform use",
            ms(w.median), w.spread("ms"), "", "", "", None))
        # The same number of rows with a skewed use of models and tags.
        sdata = self.tmp / "ledger-skewed"
        sdata.mkdir()
        senv = self.env(data=sdata)
        checked(run(self.ask("answer", "--no-stream"), senv), ["route ask"])
        fill_ledger(sdata / "ledger.db", s.ledger_rows, int(time.time() * 1000), skewed=True)
        w = walls(series(cmd, senv, s.slow_reps, 1))
        self.report.add(Row(
            "ledger", f"`cost --by model` over {s.ledger_rows:,} rows, skewed use (Zipf models, 80 % untagged)",
            ms(w.median), w.spread("ms"), "", "", "", None))
        # Recording into (and planning from) the big ledger.
        r = paired([self.ask("answer", "--no-stream"), self.ask("answer", "--no-stream", "--no-log")], env,
                   s.reps, s.warmup)
        w, dd = walls(r[0]), pair_diff(r[0], r[1])
        self.report.add(Row(
            "ledger", f"`ask --no-stream` with {s.ledger_rows:,} rows in the ledger", ms(w.median), w.spread("ms"),
            f"`--no-log` {ms(walls(r[1]).median)}", f"insert {dd.median:+.2f} ms paired",
            "", None))
        # A daily or monthly cap makes every request sum what was spent.
        budget = self.tmp / "budget.toml"
        budget.write_text(self.profile.read_text() + "\n[budget]\nmonthly = 1000.0\n")
        benv = self.env(profile=budget, data=data)
        cmd = self.ask("answer", "--no-stream", "--no-log")
        r = paired([cmd, cmd], env, s.reps, s.warmup, envs=[benv, env])
        w, dd = walls(r[0]), pair_diff(r[0], r[1])
        self.report.add(Row(
            "ledger", f"`ask --no-stream --no-log` with a monthly budget, {s.ledger_rows:,} rows",
            ms(w.median), w.spread("ms"), f"no budget {ms(walls(r[1]).median)}",
            f"{dd.median:+.2f} ms paired (summing the month's spend)", "", None))

    def conversations(self) -> None:
        """`ask -c` on a long conversation against a first turn, and `route log
        --search` over a large store of turns."""
        s = self.sizes
        data = self.tmp / "conversations"
        data.mkdir()
        env = self.env(data=data)
        checked(run(self.ask("answer", "--no-stream"), env), ["route ask"])
        db = data / "ledger.db"
        conn = sqlite3.connect(db)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "turns" not in tables:
            conn.close()
            self.report.skip("conversations", "this route keeps no turns")
            return
        # The conversation of the first request, grown to 50 turns of a
        # paragraph each way.
        (cid,) = conn.execute("SELECT conversation_id FROM turns").fetchone()
        now = int(time.time() * 1000)
        para = "TCP slow start doubles the congestion window every round trip. " * 4
        conn.executemany(
            "INSERT INTO turns (request_id, conversation_id, at, reference, label, prompt, answer)"
            " VALUES (?, ?, ?, 'answer', 'answer', ?, ?)",
            [(f"{cid[:12]}{i:012x}", cid, now + i, f"question {i}: {para}", f"answer {i}: {para}")
             for i in range(1, 50)])
        conn.commit()
        conn.close()
        first = self.ask("answer", "--no-stream", "--no-log")
        cont = [*first[:2], "-c", *first[2:]]
        r = paired([cont, first], env, s.reps, s.warmup)
        w, dd = walls(r[0]), pair_diff(r[0], r[1])
        self.report.add(Row(
            "conversations", "`ask -c --no-stream` on a 50-turn conversation", ms(w.median), w.spread("ms"),
            f"a first turn {ms(walls(r[1]).median)}", f"{dd.median:+.2f} ms paired",
            "≤ +2 ms", self.met(dd.median <= 2.0)))
        # A large store of turns, searched through the full-text index.
        rows = s.ledger_rows
        conn = sqlite3.connect(db)
        words = ["window", "congestion", "latency", "sorting", "python", "rust", "kernel", "cache",
                 "haiku", "budget", "router", "stream", "token", "ledger", "schema", "prompt"]
        rnd = random.Random(14)
        t = time.perf_counter()
        conn.executemany(
            "INSERT INTO turns (request_id, conversation_id, at, reference, label, prompt, answer)"
            " VALUES (?, ?, ?, 'answer', 'answer', ?, ?)",
            ((f"b{i:023x}", f"b{i // 5:023x}", now - rnd.randrange(90 * 86_400_000),
              " ".join(rnd.choices(words, k=12)), " ".join(rnd.choices(words, k=40)))
             for i in range(rows)))
        conn.execute("INSERT INTO turns (request_id, conversation_id, at, reference, prompt, answer)"
                     " VALUES ('needle', 'needle', ?, 'answer', 'where is the zebra', 'here')", (now,))
        conn.commit()
        conn.close()
        print(f"  (stored {rows:,} turns in {time.perf_counter() - t:.1f} s)", file=sys.stderr)
        cmd = [self.route, "log", "--search", "zebra"]
        w = walls(series(cmd, env, s.slow_reps, 1))
        self.report.add(Row(
            "conversations", f"`log --search` (one match) over {rows:,} stored requests", ms(w.median),
            w.spread("ms"), "", "", "≤ 100 ms", self.met(w.median <= 100.0)))
        w = walls(series([self.route, "log", "--search", "window cache"], env, s.slow_reps, 1))
        self.report.add(Row(
            "conversations", f"`log --search` (two common words, newest 20) over {rows:,} stored requests",
            ms(w.median), w.spread("ms"), "", "", "", None))

    def peer(self) -> None:
        llm = shutil.which("llm")
        if not llm:
            self.report.skip("peer", "`llm` (PyPI) is not installed")
            return
        s = self.sizes
        home = self.tmp / "llm"
        home.mkdir(exist_ok=True)
        (home / "extra-openai-models.yaml").write_text(
            f"- model_id: route-bench-mock\n  model_name: {MODEL_ID}\n  api_base: \"{self.answer.url}/v1\"\n"
            "  api_key_name: routebench\n")
        (home / "keys.json").write_text(json.dumps({"routebench": "not-a-key"}))
        env = dict(os.environ, LLM_USER_PATH=str(home))
        cmds = [[llm, "-m", "route-bench-mock", "--no-log", "--no-stream", PROMPT],
                self.ask("answer", "--no-stream", "--no-log")]
        try:
            # llm takes about a second a run: a few are enough.
            n, warm = (1, 0) if self.args.quick else (max(3, s.reps // 4), 1)
            r = paired(cmds, env, n, warm, envs=[env, self.env()])
        except Failed as e:
            self.report.skip("peer", f"llm failed: {e}")
            return
        p, q = walls(r[0]), walls(r[1])
        self.report.add(Row(
            "peer", "`llm` (PyPI) against the same mock, `--no-stream`", ms(p.median), p.spread("ms"),
            f"`route ask --no-stream --no-log` {ms(q.median)}", f"route is ×{p.median / q.median:.1f} faster",
            "", None))

    def all(self) -> None:
        figures = [
            ("start-up", self.startup),
            ("per-request overhead", self.per_request),
            ("first token", self.first_token),
            ("stream throughput", self.stream),
            ("failover", self.failover),
            ("fan-out", self.fanout),
            ("memory", self.memory),
            ("ledger", self.ledger),
            ("conversations", self.conversations),
            ("peer", self.peer),
        ]
        only = set(self.args.only.split(",")) if self.args.only else None
        for name, fn in figures:
            if only and name not in only:
                continue
            print(f"{name} ...", file=sys.stderr, flush=True)
            try:
                fn()
            except Failed as e:
                self.report.skip(name, str(e))
                if self.enforce:
                    self.report.rows[-1].met = False

    def close(self) -> None:
        for m in self.mocks:
            m.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -------------------------------------------------------------------------- main


def replace_section(path: Path, text: str) -> None:
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    doc = path.read_text()
    if start not in doc or end not in doc:
        raise SystemExit(f"{path} has no {start} … {end} section")
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{text}\n{end}{tail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="few repetitions and small sizes, targets not enforced (the smoke test)")
    ap.add_argument("--bin-dir", default=str(ROOT / "target" / "release"),
                    help="where `route` and `route-mock` are (default: target/release)")
    ap.add_argument("--only", help="comma-separated figure names to run")
    ap.add_argument("--no-parser", dest="parser", action="store_false",
                    help="skip `cargo bench --bench sse` (the parser-alone figure)")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--write", help="replace the results section of this Markdown file (BENCHMARKS.md)")
    args = ap.parse_args()
    if args.quick:
        args.parser = False
    for b in ("route", "route-mock"):
        if not (Path(args.bin_dir) / b).exists():
            print(f"bench: {Path(args.bin_dir) / b} not found; build it first:\n"
                  "  cargo build --release -p route --bin route -p route-mock --bin route-mock", file=sys.stderr)
            return 2

    # Stopped with SIGTERM: still stop the mocks and remove the temporary folder.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    info = machine()
    mode = "quick (smoke: targets not enforced)" if args.quick else "full"
    bench = Bench(args)
    try:
        bench.setup()
        bench.all()
    finally:
        bench.close()

    header = (
        f"Run: {info['date']}, {mode}, binaries in `{os.path.relpath(args.bin_dir, ROOT)}`.  \n"
        f"Machine: {info['nproc']} CPUs, {info['cpu']}; {info['kernel']}; {info['rustc']}; "
        f"{info['curl'].split(' (')[0]}; Python {info['python']}."
    )
    table = bench.report.markdown()
    print(header)
    print()
    print(table)
    missed = [r for r in bench.report.rows if r.met is False]
    if missed:
        print(f"\n{len(missed)} target(s) not met.")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": info, "mode": mode, "rows": [r.__dict__ for r in bench.report.rows]}, indent=2))
    if args.write:
        replace_section(Path(args.write), f"{header}\n\n{table}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
