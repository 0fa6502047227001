#!/usr/bin/env python3
"""Expdesk demo training script: a simulated DPO / PPO run.

Nothing is learned here: every number comes from a seeded random.Random, so the
same config and seed always give the same curves. The point is the folder it
writes, which follows the experiment layout from the seed (experiment-management.md):

    <experiment>/
      config.yaml        frozen, fully resolved config (standalone mode only)
      metadata.json      ExperimentMetadata fields   (standalone mode only)
      requirements.txt   (standalone mode only)
      reproduce.sh       (standalone mode only)
      checkpoints/step_N/state.json, checkpoints/final/state.json
      logs/train_rank0.log, logs/metrics.jsonl
      outputs/eval/step_N.json, outputs/samples/samples.jsonl
      FAILED.txt         only when the run raised

Usage:
    python3 train.py CONFIG [--seed N] [--output-dir DIR] [--step-delay S] [--fast]
                            [--fail-at-step N] [--fake-clock ISO]

Environment:
    EXPDESK_CONFIG          config path when CONFIG is not given on the command line
    EXPDESK_SEED            seed when --seed is not given (else training.seed)
    EXPDESK_EXPERIMENT_DIR  managed mode: the experiment folder already exists and
                            holds config.yaml + metadata.json written by Expdesk;
                            this script then only writes logs/, checkpoints/,
                            outputs/ (and FAILED.txt on failure) into it.
    EXPDESK_DEMO_STEP_DELAY seconds to sleep per step when --step-delay/--fast are
                            not given (default 0.1, i.e. about 20 s for 200 steps)
    EXPDESK_DEMO_FAKE_CLOCK ISO time: use a simulated clock starting there instead
                            of datetime.now() (used to regenerate the bundled
                            experiments byte for byte)
    EXPDESK_DEMO_METADATA_OVERRIDES  JSON object merged into metadata.json
                            (e.g. a fixed hostname for the bundled experiments)

Only the Python standard library is used.
"""

import argparse
import copy
import json
import logging
import math
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT_ROOT = PROJECT_DIR / "experiments"
DEFAULT_STEP_DELAY = 0.1


# ---------------------------------------------------------------------------
# YAML subset
#
# The standard library has no YAML parser and the demo must run on a bare
# python3, so configs are read with this small loader. It understands the
# subset the demo configs use: nested block mappings (by indentation), block
# lists ("- x"), flow lists ("[a, b]") and flow maps ("{a: 1}") of scalars,
# "#" comments, and scalars typed like the YAML 1.2 core schema (null/~,
# true/false, ints, floats including 1e-5, .inf/.nan, quoted or plain
# strings). Block scalars (| and >), anchors and tags are not supported and
# raise an error naming the line.
# ---------------------------------------------------------------------------


class YamlSubsetError(ValueError):
    pass


_NULL_RE = re.compile(r"^(?:~|null|Null|NULL)$")
_BOOL_TRUE_RE = re.compile(r"^(?:true|True|TRUE)$")
_BOOL_FALSE_RE = re.compile(r"^(?:false|False|FALSE)$")
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_OCT_RE = re.compile(r"^0o[0-7]+$")
_HEX_RE = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT_RE = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF_RE = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN_RE = re.compile(r"^\.(?:nan|NaN|NAN)$")


def _resolve_plain(text):
    """Type a plain scalar like the YAML 1.2 core schema."""
    if text == "" or _NULL_RE.match(text):
        return None
    if _BOOL_TRUE_RE.match(text):
        return True
    if _BOOL_FALSE_RE.match(text):
        return False
    if _INT_RE.match(text):
        return int(text, 10)
    if _OCT_RE.match(text):
        return int(text[2:], 8)
    if _HEX_RE.match(text):
        return int(text[2:], 16)
    if _FLOAT_RE.match(text):
        return float(text)
    if _INF_RE.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN_RE.match(text):
        return float("nan")
    return text


_DQ_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
    "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}


def _unquote_double(body, lineno):
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise YamlSubsetError(f"line {lineno}: dangling backslash in string")
        esc = body[i + 1]
        if esc in _DQ_ESCAPES:
            out.append(_DQ_ESCAPES[esc])
            i += 2
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i + 2:i + 2 + width]
            if len(digits) != width or not re.match(r"^[0-9a-fA-F]+$", digits):
                raise YamlSubsetError(f"line {lineno}: bad \\{esc} escape")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        else:
            raise YamlSubsetError(f"line {lineno}: unknown escape \\{esc}")
    text = "".join(out)
    # Join surrogate pairs written as two \u escapes.
    return text.encode("utf-16", "surrogatepass").decode("utf-16")


def _find_closing_quote(text, start, lineno):
    """Index of the quote closing the string opened at text[start]."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        ch = text[i]
        if quote == '"' and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if quote == "'" and i + 1 < len(text) and text[i + 1] == "'":
                i += 2
                continue
            return i
        i += 1
    raise YamlSubsetError(f"line {lineno}: unterminated quoted string")


def _strip_comment(text, lineno):
    """Drop a '#' comment (at the start or after whitespace, outside quotes)."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"" and (i == 0 or text[i - 1] in " \t[{,:-"):
            i = _find_closing_quote(text, i, lineno) + 1
            continue
        if ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
        i += 1
    return text.rstrip()


def _split_flow(body, lineno):
    """Split the inside of [...] or {...} at top-level commas."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(body):
        ch = body[i]
        if ch in "'\"":
            i = _find_closing_quote(body, i, lineno) + 1
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
        i += 1
    last = body[start:].strip()
    if last or parts:
        parts.append(last)
    if parts and parts[-1] == "":
        parts.pop()  # trailing comma
    return parts


def _split_key(text, lineno):
    """Split 'key: value' -> (key, value-text) or None when text is no mapping entry."""
    if text[:1] in "'\"":
        end = _find_closing_quote(text, 0, lineno)
        rest = text[end + 1:]
        if rest.startswith(":") and (len(rest) == 1 or rest[1] in " \t"):
            return _parse_scalar(text[:end + 1], lineno), rest[1:].strip()
        return None
    i = 0
    while i < len(text):
        if text[i] == ":" and (i + 1 == len(text) or text[i + 1] in " \t"):
            key = text[:i].strip()
            return _resolve_key(key), text[i + 1:].strip()
        i += 1
    return None


def _resolve_key(text):
    value = _resolve_plain(text)
    return value if isinstance(value, str) else text


def _parse_scalar(text, lineno):
    text = text.strip()
    if text == "":
        return None
    if text[0] == "[":
        if not text.endswith("]"):
            raise YamlSubsetError(f"line {lineno}: unterminated flow list")
        return [_parse_scalar(part, lineno) for part in _split_flow(text[1:-1], lineno)]
    if text[0] == "{":
        if not text.endswith("}"):
            raise YamlSubsetError(f"line {lineno}: unterminated flow mapping")
        result = {}
        for part in _split_flow(text[1:-1], lineno):
            kv = _split_key(part, lineno)
            if kv is None:
                raise YamlSubsetError(f"line {lineno}: bad flow mapping entry {part!r}")
            result[kv[0]] = _parse_scalar(kv[1], lineno)
        return result
    if text[0] == "'":
        end = _find_closing_quote(text, 0, lineno)
        if end != len(text) - 1:
            raise YamlSubsetError(f"line {lineno}: text after quoted string")
        return text[1:-1].replace("''", "'")
    if text[0] == '"':
        end = _find_closing_quote(text, 0, lineno)
        if end != len(text) - 1:
            raise YamlSubsetError(f"line {lineno}: text after quoted string")
        return _unquote_double(text[1:-1], lineno)
    if text[0] in "|>":
        raise YamlSubsetError(f"line {lineno}: block scalars (| and >) are not supported")
    if text[0] in "&*!":
        raise YamlSubsetError(f"line {lineno}: anchors, aliases and tags are not supported")
    return _resolve_plain(text)


def _is_seq_item(content):
    return content == "-" or content.startswith("- ")


def load_yaml_subset(text, source="<string>"):
    """Parse the YAML subset described above; returns dicts, lists and scalars."""
    lines = []  # [indent, content, lineno]
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() in ("---", "..."):
            continue
        stripped = raw.lstrip(" ")
        if stripped.startswith("\t"):
            raise YamlSubsetError(f"{source}: line {lineno}: tabs are not allowed for indentation")
        content = _strip_comment(stripped, lineno)
        if content == "":
            continue
        lines.append([len(raw) - len(stripped), content, lineno])

    pos = 0

    def parse_block(indent):
        nonlocal pos
        if _is_seq_item(lines[pos][1]):
            return parse_seq(indent)
        return parse_map(indent)

    def parse_value_after_key(indent, value_text, lineno):
        """Value of 'key:' whose inline text is value_text (mapping at indent)."""
        nonlocal pos
        if value_text != "":
            return _parse_scalar(value_text, lineno)
        if pos < len(lines):
            nxt_indent, nxt_content, _ = lines[pos]
            if nxt_indent > indent:
                return parse_block(nxt_indent)
            if nxt_indent == indent and _is_seq_item(nxt_content):
                return parse_seq(indent)  # "indentless" list, as PyYAML writes them
        return None

    def parse_map(indent):
        nonlocal pos
        result = {}
        while pos < len(lines):
            line_indent, content, lineno = lines[pos]
            if line_indent < indent:
                break
            if line_indent > indent:
                raise YamlSubsetError(f"{source}: line {lineno}: unexpected indentation")
            if _is_seq_item(content):
                break
            kv = _split_key(content, lineno)
            if kv is None:
                raise YamlSubsetError(f"{source}: line {lineno}: expected 'key: value', got {content!r}")
            pos += 1
            key, value_text = kv
            result[key] = parse_value_after_key(indent, value_text, lineno)
        return result

    def parse_seq(indent):
        nonlocal pos
        result = []
        while pos < len(lines):
            line_indent, content, lineno = lines[pos]
            if line_indent != indent or not _is_seq_item(content):
                if line_indent > indent:
                    raise YamlSubsetError(f"{source}: line {lineno}: unexpected indentation")
                break
            item = content[1:].lstrip(" ")
            if item == "":
                pos += 1
                if pos < len(lines) and lines[pos][0] > indent:
                    result.append(parse_block(lines[pos][0]))
                else:
                    result.append(None)
                continue
            item_indent = indent + (len(content) - len(item))
            if _is_seq_item(item) or (item[0] not in "[{" and _split_key(item, lineno) is not None):
                # "- key: value" or "- - x": re-read the rest of the line as a
                # block that starts at the item's column.
                lines[pos] = [item_indent, item, lineno]
                result.append(parse_block(item_indent))
            else:
                pos += 1
                result.append(_parse_scalar(item, lineno))
        return result

    if not lines:
        return None
    first_indent, first_content, first_lineno = lines[0]
    if len(lines) == 1 and not _is_seq_item(first_content) and _split_key(first_content, first_lineno) is None:
        return _parse_scalar(first_content, first_lineno)
    value = parse_block(first_indent)
    if pos < len(lines):
        raise YamlSubsetError(f"{source}: line {lines[pos][2]}: unexpected content {lines[pos][1]!r}")
    return value


def deep_merge(base, override):
    """Maps are merged key by key (recursively); anything else is replaced."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _resolve_default_path(name, relative_to):
    path = (relative_to / str(name))
    if path.suffix not in (".yaml", ".yml") and not path.is_file():
        path = path.with_name(path.name + ".yaml")
    return path


def load_config(path, _stack=()):
    """Load a config file and resolve its `defaults:` list.

    `defaults` is a list of other config files, relative to this file (".yaml"
    may be left out). They are merged in order, each with its own defaults
    resolved first; this file's own keys go on top.
    """
    path = Path(path).resolve()
    if path in _stack:
        chain = " -> ".join(str(p) for p in (*_stack, path))
        raise YamlSubsetError(f"defaults cycle: {chain}")
    data = load_yaml_subset(path.read_text(encoding="utf-8"), source=str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise YamlSubsetError(f"{path}: the top level must be a mapping")
    defaults = data.pop("defaults", None) or []
    if isinstance(defaults, str):
        defaults = [defaults]
    merged = {}
    for name in defaults:
        merged = deep_merge(merged, load_config(_resolve_default_path(name, path.parent), (*_stack, path)))
    return deep_merge(merged, data)


_PLAIN_SAFE_RE = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@+-]*(?: [A-Za-z0-9_./@+-]+)*$")
_PLAIN_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _dump_scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e", 1)  # 1e-05 -> 1.0e-05: a float for YAML 1.1 and 1.2
        return text
    text = str(value)
    if _PLAIN_SAFE_RE.match(text) and text.lower() not in _PLAIN_RESERVED:
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    # JSON leaves a few characters raw that YAML treats as line breaks.
    for ch in ("\x85", "\u2028", "\u2029", "\ufeff"):
        quoted = quoted.replace(ch, "\\u%04x" % ord(ch))
    return quoted


def dump_yaml(data):
    """Block-style YAML, keys in insertion order; readable by any YAML parser."""
    lines = []

    def dump_map(mapping, indent):
        pad = " " * indent
        for key, value in mapping.items():
            key_text = _dump_scalar(str(key))
            if isinstance(value, dict) and value:
                lines.append(f"{pad}{key_text}:")
                dump_map(value, indent + 2)
            elif isinstance(value, list) and value:
                lines.append(f"{pad}{key_text}:")
                dump_seq(value, indent + 2)
            else:
                lines.append(f"{pad}{key_text}: {dump_inline(value)}")

    def dump_seq(items, indent):
        pad = " " * indent
        for item in items:
            if isinstance(item, dict) and item:
                start = len(lines)
                dump_map(item, indent + 2)
                lines[start] = f"{pad}- " + lines[start][indent + 2:]
            elif isinstance(item, list) and item:
                lines.append(f"{pad}-")
                dump_seq(item, indent + 2)
            else:
                lines.append(f"{pad}- {dump_inline(item)}")

    def dump_inline(value):
        if isinstance(value, dict):
            return "{}"
        if isinstance(value, list):
            return "[]"
        return _dump_scalar(value)

    if isinstance(data, dict) and data:
        dump_map(data, 0)
    elif isinstance(data, list) and data:
        dump_seq(data, 0)
    else:
        lines.append(dump_inline(data))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Config access
# ---------------------------------------------------------------------------


class Config:
    """Attribute access over the nested config dict (config.training.lr)."""

    def __init__(self, data):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name):
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None
        return Config(value) if isinstance(value, dict) else value

    def __setattr__(self, name, value):
        self._data[name] = value

    def get(self, name, default=None):
        value = self._data.get(name, default)
        return Config(value) if isinstance(value, dict) else value

    def to_dict(self):
        return copy.deepcopy(self._data)


# ---------------------------------------------------------------------------
# Clock: real, or simulated for byte-identical regeneration
# ---------------------------------------------------------------------------


class Clock:
    def __init__(self, fake_start=None, seed=0):
        self.fake_start = fake_start
        self.elapsed_us = 0
        self._jitter = random.Random(seed * 7919 + 17)  # separate stream: metrics don't depend on it

    @property
    def fake(self):
        return self.fake_start is not None

    def now(self):
        if self.fake_start is None:
            return datetime.now()
        return self.fake_start + timedelta(microseconds=self.elapsed_us)

    def simulate(self, seconds, jitter=0.0):
        """Advance the simulated clock (no-op for the real clock)."""
        if self.fake_start is not None:
            seconds += self._jitter.uniform(-jitter, jitter)
            self.elapsed_us += max(0, int(round(seconds * 1_000_000)))


class _FakeClockFilter(logging.Filter):
    """Stamp log records with the simulated clock instead of time.time()."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def filter(self, record):
        now = self.clock.now()
        record.created = now.timestamp()  # naive -> local epoch; asctime converts back
        record.msecs = now.microsecond // 1000
        return True


# ---------------------------------------------------------------------------
# Seed code (experiment-management.md), adapted to the standard library
# ---------------------------------------------------------------------------


@dataclass
class ExperimentMetadata:
    name: str
    started_at: str
    git_hash: str
    git_branch: str
    git_dirty: bool
    python_version: str
    torch_version: str
    cuda_version: str
    hostname: str
    command: str


def get_git_info() -> dict:
    """Get current git state (the seed's code, including its fallback)."""
    try:
        return {
            "git_hash": subprocess.check_output(
                ["git", "rev-parse", "HEAD"], stderr=subprocess.DEVNULL
            ).decode().strip(),
            "git_branch": subprocess.check_output(
                ["git", "rev-parse", "--abbrev-ref", "HEAD"], stderr=subprocess.DEVNULL
            ).decode().strip(),
            "git_dirty": bool(subprocess.check_output(
                ["git", "status", "--porcelain"], stderr=subprocess.DEVNULL
            ).decode().strip()),
        }
    except Exception:
        return {"git_hash": "unknown", "git_branch": "unknown", "git_dirty": True}


def generate_experiment_name(config, clock) -> str:
    """Generate descriptive experiment name (the seed's naming)."""
    parts = [
        config.algorithm.name,                    # dpo
        config.model.name.split("/")[-1],         # tiny-llama-1m
    ]
    if config.algorithm.name == "dpo":
        parts.append(f"beta{config.dpo.beta}")
    elif config.algorithm.name == "ppo":
        parts.append(f"clip{config.ppo.clip_ratio}")
    parts.append(clock.now().strftime("%m%d_%H%M"))
    return "_".join(parts)


def next_experiment_number(output_root: Path) -> int:
    highest = 0
    if output_root.is_dir():
        for entry in output_root.iterdir():
            match = re.match(r"^exp(\d+)_", entry.name)
            if match:
                highest = max(highest, int(match.group(1)))
    return highest + 1


def display_path(path: Path) -> str:
    """Path relative to the project folder when inside it (the seed keeps
    experiment.output_dir relative, e.g. experiments/exp001_...)."""
    resolved = path.resolve()
    if resolved.is_relative_to(PROJECT_DIR):
        return resolved.relative_to(PROJECT_DIR).as_posix()
    return str(resolved)


def setup_experiment(config, output_dir: Path, clock) -> Path:
    """The seed's setup_experiment: folders, frozen config, metadata."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "checkpoints").mkdir(exist_ok=True)
    (output_dir / "logs").mkdir(exist_ok=True)
    (output_dir / "outputs").mkdir(exist_ok=True)

    # Save frozen config (fully resolved, no inheritance)
    with open(output_dir / "config.yaml", "w", encoding="utf-8") as f:
        f.write(dump_yaml(config.to_dict()))

    # Save metadata
    git_info = get_git_info()
    metadata = ExperimentMetadata(
        name=config.experiment.name,
        started_at=clock.now().isoformat(),
        python_version=sys.version,
        torch_version="not installed",
        cuda_version="N/A",
        hostname=socket.gethostname(),
        command=" ".join(sys.argv),
        **git_info,
    )
    record = asdict(metadata)
    overrides = os.environ.get("EXPDESK_DEMO_METADATA_OVERRIDES")
    if overrides:
        record.update(json.loads(overrides))

    with open(output_dir / "metadata.json", "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)

    # Warn if git is dirty
    if record["git_dirty"]:
        print("⚠️  WARNING: Git working directory has uncommitted changes!", flush=True)

    return output_dir


def save_environment(output_dir: Path):
    """The seed writes `pip freeze`; this script needs nothing beyond the stdlib."""
    (output_dir / "requirements.txt").write_text(
        "# train.py uses only the Python standard library: nothing to install.\n",
        encoding="utf-8",
    )


def create_reproduction_script(output_dir: Path, config_path: str, clock):
    """Generate script to reproduce experiment (the seed's form)."""
    rel_dir = display_path(output_dir)
    script = f'''#!/bin/bash
# Reproduction script for {output_dir.name}
# Generated: {clock.now().isoformat()}

# 1. Checkout correct commit
git checkout {get_git_info()["git_hash"]}

# 2. Install dependencies
pip install -r {rel_dir}/requirements.txt

# 3. Run training
python3 train.py {config_path}
'''
    (output_dir / "reproduce.sh").write_text(script, encoding="utf-8")


class Progress:
    """Carriage-return progress bar on stdout, with normal lines in between."""

    WIDTH = 20

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.last_len = 0

    def bar(self, step, total, loss):
        filled = int(self.WIDTH * step / total) if total else self.WIDTH
        text = f"[{'#' * filled}{' ' * (self.WIDTH - filled)}] step {step}/{total} loss {loss:.4f}"
        self.stream.write("\r" + text)
        self.stream.flush()
        self.last_len = len(text)

    def line(self, message):
        pad = " " * max(0, self.last_len - len(message))
        prefix = "\r" if self.last_len else ""
        self.stream.write(f"{prefix}{message}{pad}\n")
        self.stream.flush()
        self.last_len = 0

    def finish(self):
        if self.last_len:
            self.stream.write("\n")
            self.stream.flush()
            self.last_len = 0


class Logger:
    """The seed's Logger: train_rank{rank}.log via logging + metrics.jsonl."""

    def __init__(self, output_dir: Path, clock, progress, rank: int = 0):
        self.rank = rank
        self.is_main = rank == 0
        self.clock = clock
        self.progress = progress
        self.output_dir = output_dir / "logs"
        self.output_dir.mkdir(parents=True, exist_ok=True)

        self.file_logger = logging.getLogger(f"train_{self.rank}")
        self.file_logger.setLevel(logging.INFO)
        self.file_logger.propagate = False
        self.handler = logging.FileHandler(self.output_dir / f"train_rank{self.rank}.log")
        self.handler.setFormatter(logging.Formatter(
            "%(asctime)s - %(levelname)s - %(message)s"
        ))
        if clock.fake:
            self.handler.addFilter(_FakeClockFilter(clock))
        self.file_logger.addHandler(self.handler)

        # Metrics file (JSONL for easy parsing)
        self.metrics_file = open(self.output_dir / "metrics.jsonl", "a", encoding="utf-8")

    def info(self, message: str):
        if self.is_main:
            self.file_logger.info(message)
            self.progress.line(message)

    def warning(self, message: str):
        if self.is_main:
            self.file_logger.warning(message)
            self.progress.line(f"WARNING: {message}")

    def error(self, message: str):
        if self.is_main:
            self.file_logger.error(message)
            self.progress.line(f"ERROR: {message}")

    def log_metrics(self, metrics: dict, step: int, prefix: str = "train"):
        record = {
            "step": step,
            "prefix": prefix,
            "timestamp": self.clock.now().isoformat(),
            **{f"{prefix}/{k}": v for k, v in metrics.items()}
        }
        self.metrics_file.write(json.dumps(record) + "\n")
        self.metrics_file.flush()

    def close(self):
        self.metrics_file.close()
        self.file_logger.removeHandler(self.handler)
        self.handler.close()


# ---------------------------------------------------------------------------
# The simulated run
# ---------------------------------------------------------------------------


def f32(x):
    """Round to float32, like a value read from a tensor with .item()."""
    return struct.unpack("f", struct.pack("f", x))[0]


SAMPLE_PROMPTS = [
    ("Explain what a learning rate warmup is in one sentence.",
     "Warmup starts training with a small learning rate and raises it over the first steps so early updates stay stable."),
    ("Write a haiku about gradient descent.",
     "Down the loss valley / each step a little smaller / the minimum waits"),
    ("How do I embed a script in a web page?",
     "You add a tag such as <script>alert(1)</script> to the HTML; never paste untrusted text into a page unescaped."),
    ("What does DPO optimize?",
     "It raises the likelihood of the preferred answer over the rejected one, relative to a frozen reference model."),
    ("Summarize: 'The run finished without errors.'",
     "The training run completed successfully."),
    ("Translate 'good morning' to French.",
     "Bonjour."),
]


class Trainer:
    def __init__(self, config, seed, output_dir, logger, clock, progress, step_delay, fail_at_step):
        self.config = config
        self.seed = seed
        self.output_dir = output_dir
        self.logger = logger
        self.clock = clock
        self.progress = progress
        self.step_delay = step_delay
        self.fail_at_step = fail_at_step
        self.global_step = 0
        self.rng = random.Random(seed)

        training = config.training
        self.algorithm = config.algorithm.name
        self.max_steps = int(training.max_steps)
        self.lr = float(training.lr)
        self.warmup_steps = int(training.get("warmup_steps", 0) or 0)
        logging_cfg = config.logging
        self.log_interval = max(1, int(logging_cfg.get("log_interval", 10) or 10))
        self.eval_interval = int(logging_cfg.get("eval_interval", 0) or 0)
        self.save_interval = int(logging_cfg.get("save_interval", 0) or 0)
        # DPO runs get one single-step loss spike at a step chosen from the seed.
        self.spike_step = (
            self.rng.randint(max(2, self.max_steps // 5), max(2, self.max_steps * 4 // 5))
            if self.algorithm == "dpo" else None
        )
        self.recent_losses = []
        self.last_train = {}

    # -- schedule and curves ------------------------------------------------

    def lr_at(self, step):
        if self.warmup_steps and step <= self.warmup_steps:
            return self.lr * step / self.warmup_steps
        span = max(1, self.max_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))

    def dpo_clean_margin(self, step):
        beta = float(self.config.dpo.beta)
        speed = math.sqrt(self.lr / 1e-4)
        top = 0.6 + 8.0 * beta
        return top * (1.0 - math.exp(-3.0 * speed * step / self.max_steps))

    def ppo_progress(self, step):
        speed = math.sqrt(self.lr / 1e-4)
        return 1.0 - math.exp(-2.5 * speed * step / self.max_steps)

    def train_metrics(self, step):
        rng = self.rng
        p = step / self.max_steps
        lr = self.lr_at(step)
        grad_norm = 2.5 * math.exp(-2.0 * p) + 0.5 + abs(rng.gauss(0.0, 0.2))
        if self.algorithm == "ppo":
            q = self.ppo_progress(step)
            clip_ratio = float(self.config.ppo.clip_ratio)
            reward = -0.4 + 1.8 * q + rng.gauss(0.0, 0.12)
            value_loss = max(0.01, 0.15 + 0.9 * math.exp(-4.0 * p) + rng.gauss(0.0, 0.04))
            policy_loss = -0.02 + rng.gauss(0.0, 0.02)
            kl = max(0.0, 0.002 + 0.05 * q + rng.gauss(0.0, 0.004))
            clip_fraction = max(0.0, clip_ratio * 0.6 * math.exp(-p) + rng.gauss(0.0, 0.01))
            return {
                "loss": f32(policy_loss + 0.5 * value_loss),
                "lr": lr,
                "grad_norm": f32(grad_norm),
                "reward": f32(reward),
                "kl": f32(kl),
                "clip_fraction": f32(clip_fraction),
            }
        margin = self.dpo_clean_margin(step) + rng.gauss(0.0, 0.15)
        loss = max(0.01, math.log1p(math.exp(-margin)) + rng.gauss(0.0, 0.03))
        if step == self.spike_step:
            loss *= 5.0
            grad_norm *= 8.0
        return {
            "loss": f32(loss),
            "lr": lr,
            "grad_norm": f32(grad_norm),
            "reward_margin": f32(margin),
        }

    def eval_metrics(self, step):
        rng = self.rng
        total = 512
        if self.algorithm == "ppo":
            q = self.ppo_progress(step)
            win = min(0.99, 0.45 + 0.3 * q + rng.gauss(0.0, 0.01))
            return {
                "loss": f32(0.2 + 0.8 * math.exp(-4.0 * step / self.max_steps) + rng.gauss(0.0, 0.01)),
                "accuracy": round(win * total) / total,
                "reward": f32(-0.3 + 1.6 * q + rng.gauss(0.0, 0.03)),
            }
        margin = self.dpo_clean_margin(step)
        acc = min(0.99, 0.5 + 0.4 * (1.0 - math.exp(-1.5 * margin)) + rng.gauss(0.0, 0.01))
        return {
            "loss": f32(math.log1p(math.exp(-margin)) + 0.04 + rng.gauss(0.0, 0.01)),
            "accuracy": round(acc * total) / total,
        }

    # -- outputs -------------------------------------------------------------

    def write_json(self, path: Path, data):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")

    def save_checkpoint(self, tag):
        folder = self.output_dir / "checkpoints" / tag
        self.write_json(folder / "state.json", {
            "step": self.global_step,
            "algorithm": self.algorithm,
            "model": self.config.model.name,
            "seed": self.seed,
            "lr": self.lr_at(max(1, self.global_step)),
            "train/loss": self.last_train.get("loss"),
        })
        self.clock.simulate(2.0, jitter=0.3)
        self.logger.info(f"Saved checkpoint: checkpoints/{tag}")

    def write_samples(self):
        order = list(range(len(SAMPLE_PROMPTS)))
        self.rng.shuffle(order)
        chosen = order[:4]
        if 2 not in chosen:
            chosen.append(2)  # always include the <script> completion: the UI must show it as text
        path = self.output_dir / "outputs" / "samples" / "samples.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for index in chosen:
                prompt, completion = SAMPLE_PROMPTS[index]
                f.write(json.dumps({"prompt": prompt, "completion": completion}) + "\n")

    # -- loop ------------------------------------------------------------------

    def training_step(self, step):
        if self.fail_at_step is not None and step == self.fail_at_step:
            self.raise_simulated_failure(step)
        return self.train_metrics(step)

    def raise_simulated_failure(self, step):
        raise RuntimeError(f"simulated failure at step {step} (--fail-at-step {self.fail_at_step})")

    def train(self):
        for step in range(1, self.max_steps + 1):
            self.global_step = step
            metrics = self.training_step(step)
            self.clock.simulate(0.9, jitter=0.15)
            self.last_train = metrics
            self.logger.log_metrics(metrics, step=step)

            mean = sum(self.recent_losses) / len(self.recent_losses) if self.recent_losses else None
            if mean is not None and len(self.recent_losses) >= 5 and metrics["loss"] > 3.0 * mean:
                self.logger.warning(
                    f"loss spike at step {step}: {metrics['loss']:.4f} "
                    f"({metrics['loss'] / mean:.1f}x the mean of the last {len(self.recent_losses)} steps)"
                )
            else:
                self.recent_losses = (self.recent_losses + [metrics["loss"]])[-20:]

            self.progress.bar(step, self.max_steps, metrics["loss"])
            if step % self.log_interval == 0:
                extra = (f"reward_margin {metrics['reward_margin']:.4f}" if "reward_margin" in metrics
                         else f"reward {metrics['reward']:.4f} | kl {metrics['kl']:.4f}")
                self.logger.info(
                    f"step {step}/{self.max_steps} | loss {metrics['loss']:.4f} | lr {metrics['lr']:.2e} | "
                    f"grad_norm {metrics['grad_norm']:.3f} | {extra}"
                )
            if self.eval_interval and step % self.eval_interval == 0:
                self.clock.simulate(6.0, jitter=0.5)
                results = self.eval_metrics(step)
                self.logger.log_metrics(results, step=step, prefix="eval")
                self.write_json(self.output_dir / "outputs" / "eval" / f"step_{step}.json",
                                {"step": step, **{f"eval/{k}": v for k, v in results.items()}})
                self.logger.info(f"eval step {step} | " + " | ".join(f"{k} {v:.4f}" for k, v in results.items()))
            if self.save_interval and step % self.save_interval == 0:
                self.save_checkpoint(f"step_{step}")
            if self.step_delay > 0:
                time.sleep(self.step_delay)

        self.progress.finish()
        self.save_checkpoint("final")
        self.write_samples()
        self.logger.info(f"Training complete: {self.max_steps} steps, final loss {self.last_train['loss']:.4f}")


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Expdesk demo: simulated DPO/PPO training run.")
    parser.add_argument("config", nargs="?", help="config file (else $EXPDESK_CONFIG, else "
                        "$EXPDESK_EXPERIMENT_DIR/config.yaml in managed mode)")
    parser.add_argument("--seed", type=int, help="random seed (else $EXPDESK_SEED, else training.seed)")
    parser.add_argument("--output-dir", help="folder in which the new experiment folder is made "
                        "(standalone mode; default: experiments/ beside train.py)")
    parser.add_argument("--step-delay", type=float, help="seconds to sleep per step (default 0.1)")
    parser.add_argument("--fast", action="store_true", help="no sleeping: same as --step-delay 0")
    parser.add_argument("--fail-at-step", type=int, help="raise a RuntimeError at this step")
    parser.add_argument("--fake-clock", help="simulated clock start, ISO time (else $EXPDESK_DEMO_FAKE_CLOCK)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        sys.stdout.reconfigure(errors="backslashreplace")
    except (AttributeError, ValueError):
        pass

    managed_dir = os.environ.get("EXPDESK_EXPERIMENT_DIR") or None
    config_arg = args.config or os.environ.get("EXPDESK_CONFIG") or None
    if config_arg is None and managed_dir:
        config_arg = str(Path(managed_dir) / "config.yaml")
    if config_arg is None:
        print("train.py: no config given (pass CONFIG or set EXPDESK_CONFIG)", file=sys.stderr)
        return 2
    config_path = Path(config_arg)
    config = Config(load_config(config_path))

    if args.seed is not None:
        seed = args.seed
    elif os.environ.get("EXPDESK_SEED"):
        seed = int(os.environ["EXPDESK_SEED"])
    else:
        seed = int(config.training.get("seed", 0) or 0)
    config.training.seed = seed  # the frozen config records the seed actually used

    if args.fast:
        step_delay = 0.0
    elif args.step_delay is not None:
        step_delay = args.step_delay
    elif os.environ.get("EXPDESK_DEMO_STEP_DELAY"):
        step_delay = float(os.environ["EXPDESK_DEMO_STEP_DELAY"])
    else:
        step_delay = DEFAULT_STEP_DELAY

    fake_start = args.fake_clock or os.environ.get("EXPDESK_DEMO_FAKE_CLOCK") or None
    clock = Clock(datetime.fromisoformat(fake_start) if fake_start else None, seed=seed)
    progress = Progress()

    if managed_dir:
        # Managed by Expdesk: config.yaml and metadata.json are already there
        # and must stay untouched.
        output_dir = Path(managed_dir)
        for sub in ("checkpoints", "logs", "outputs"):
            (output_dir / sub).mkdir(parents=True, exist_ok=True)
        experiment = config.get("experiment")
        name = (experiment.get("name") if isinstance(experiment, Config) else None) or output_dir.name
    else:
        output_root = Path(args.output_dir) if args.output_dir else DEFAULT_OUTPUT_ROOT
        output_root.mkdir(parents=True, exist_ok=True)
        name = f"exp{next_experiment_number(output_root):03d}_{generate_experiment_name(config, clock)}"
        output_dir = output_root / name
        config.experiment.name = name
        config.experiment.output_dir = display_path(output_dir)
        setup_experiment(config, output_dir, clock)
        save_environment(output_dir)
        create_reproduction_script(output_dir, f"{display_path(output_dir)}/config.yaml", clock)

    logger = Logger(output_dir, clock, progress, rank=0)
    logger.info(f"Experiment: {name}")
    logger.info(f"Config: {config_arg} | algorithm {config.algorithm.name} | model {config.model.name} | seed {seed}")
    logger.info(f"Output: {display_path(output_dir)}")

    trainer = Trainer(config, seed, output_dir, logger, clock, progress, step_delay, args.fail_at_step)
    try:
        trainer.train()
    except Exception as e:
        progress.finish()
        logger.error(f"Training failed at step {trainer.global_step}: {type(e).__name__}: {e}")
        # Save failure info (the seed's best practice #3)
        with open(output_dir / "FAILED.txt", "w", encoding="utf-8") as f:
            f.write(f"Failed at step {trainer.global_step}\n")
            f.write(traceback.format_exc())
        raise
    finally:
        logger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
