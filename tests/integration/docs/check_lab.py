#!/usr/bin/env python3
"""The lab book's quotes against real runs (meson test `docs-lab`).

usage: check_lab.py [SCRIPT...]   (default: every examples/lab/[0-9]*.sh)

Runs each chapter script of examples/lab/ once (as root, CTK_BIN = the build's
tools/) and checks every output block that docs/*.md and docs/zh-TW/*.md quote.
A quote is a fenced block right after a marker line

    <!-- output: examples/lab/03-images.sh#layers -->

and each of its lines must appear, in order, among the lines the script printed
in that section (after `#### section: layers`, up to the next section marker).
Volatile parts are written as placeholders in the quote:

    <id>      12 or 64 hex digits (container and image ids)
    <digest>  sha256: and 64 hex digits (digests of what a run builds)
    <n>       a decimal number (PIDs, sizes, counts, ports)
    <...>     any text, possibly empty (times, durations)

and a line `...` in a quote only marks elided output (it matches nothing).
Every other character must match exactly (trailing blanks aside). The English
and 繁體中文 chapters of the same file name must quote the same blocks, and every
quoted script and section must exist. Exit 1 on any failure, naming the quote.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(os.environ.get("CTK_SOURCE_DIR", Path(__file__).resolve().parents[3]))
BUILD = Path(os.environ.get("CTK_BUILD_DIR", SRC / "build"))
MARKER = re.compile(r"^<!-- output: (examples/lab/[\w.-]+\.sh)#([\w-]+) -->\s*$")
SECTION = re.compile(r"^#### section: ([\w-]+)$")
PLACEHOLDERS = {
    "<id>": r"(?:[0-9a-f]{64}|[0-9a-f]{12})",
    "<digest>": r"sha256:[0-9a-f]{64}",
    "<n>": r"[0-9]+",
    "<...>": r".*?",
}
SPLIT = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")")


def quotes(md: Path):
    """[(script, section, [lines], line number)] of one chapter."""
    out, lines, i = [], md.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if m:
            start = i
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            if i >= len(lines) or not lines[i].startswith("```"):
                out.append((m.group(1), m.group(2), None, start + 1))
                continue
            i += 1
            block = []
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i].rstrip())
                i += 1
            out.append((m.group(1), m.group(2), block, start + 1))
        i += 1
    return out


def pattern(line: str):
    return re.compile("".join(PLACEHOLDERS.get(p, re.escape(p)) for p in SPLIT.split(line)) + r"\Z")


def sections(output: str):
    secs, cur = {}, None
    for line in output.splitlines():
        m = SECTION.match(line)
        if m:
            cur = m.group(1)
            secs.setdefault(cur, [])
        elif cur is not None:
            secs[cur].append(line.rstrip())
    return secs


# The book quotes the fixture registry as 127.0.0.1:5000; the tests may run it
# on another port (scripts/common.sh), and its address is read back as 5000.
QUOTED_REGISTRY = "127.0.0.1:5000"
REGISTRY = os.environ.get("CTK_TEST_REGISTRY", QUOTED_REGISTRY)


def run(script: Path):
    env = dict(os.environ, CTK_BIN=str(BUILD / "tools"), REG=REGISTRY)
    t0 = time.monotonic()
    p = subprocess.run([str(script)], cwd=SRC, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    text = p.stdout.decode("utf-8", "replace").replace(REGISTRY, QUOTED_REGISTRY)
    print(f"ran {script.relative_to(SRC)}: exit {p.returncode}, {time.monotonic() - t0:.1f} s", flush=True)
    return p.returncode, text


def main(argv):
    docs = sorted((SRC / "docs").glob("*.md")) + sorted((SRC / "docs" / "zh-TW").glob("*.md"))
    failures = []
    all_quotes = {md: quotes(md) for md in docs}
    # both languages quote the same outputs
    for md in sorted((SRC / "docs").glob("*.md")):
        zh = SRC / "docs" / "zh-TW" / md.name
        if not zh.exists():
            failures.append(f"{zh.relative_to(SRC)}: missing (the translation of {md.name})")
            continue
        en_q = [(s, n, b) for s, n, b, _ in all_quotes[md]]
        zh_q = [(s, n, b) for s, n, b, _ in all_quotes[zh]]
        if en_q != zh_q:
            failures.append(f"{zh.relative_to(SRC)}: its quoted outputs differ from {md.relative_to(SRC)}'s")

    scripts = [SRC / a if not Path(a).is_absolute() else Path(a) for a in argv] or \
        sorted((SRC / "examples" / "lab").glob("[0-9]*.sh"))
    wanted = {str(s.resolve().relative_to(SRC)) for s in scripts}
    outputs = {}
    for s in scripts:
        rel = str(s.resolve().relative_to(SRC))
        rc, text = run(s)
        outputs[rel] = sections(text)
        if rc != 0:
            failures.append(f"{rel}: exit status {rc}; its output:\n{text}")

    checked = 0
    for md, qs in all_quotes.items():
        for script, name, block, lineno in qs:
            where = f"{md.relative_to(SRC)}:{lineno} ({script}#{name})"
            if not (SRC / script).exists():
                failures.append(f"{where}: no such script")
                continue
            if block is None:
                failures.append(f"{where}: the marker is not followed by a fenced block")
                continue
            if script not in wanted:
                continue
            secs = outputs[script]
            if name not in secs:
                failures.append(f"{where}: the script printed no section '{name}'")
                continue
            got, pos = secs[name], 0
            for q in block:
                if q.strip() == "...":
                    continue
                pat = pattern(q)
                k = pos
                while k < len(got) and not pat.match(got[k]):
                    k += 1
                if k == len(got):
                    failures.append(f"{where}: quoted line not produced (in this order): {q!r}\n"
                                    f"  section output:\n    " + "\n    ".join(got))
                    break
                pos = k + 1
            checked += 1
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    print(f"{checked} quoted blocks checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
