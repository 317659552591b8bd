#!/usr/bin/env python3
"""Generate the Talos message catalogue for talos-doctor.

Reads a bare git directory of siderolabs/talos (and, when present, of the
Go modules whose messages Talos prints as its own: cosi-project/runtime,
siderolabs/go-retry, siderolabs/go-blockdevice), takes the latest patch tag
of every v1.x minor plus main, and extracts the format strings of log and
error calls together with their component, level, and file:line per release.

Python 3.11 standard library only.  See README.md next to this file.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import os
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass

SCHEMA = 1

# --------------------------------------------------------------------------
# Repositories

TALOS = "talos"

# name -> (github owner/name, go module paths as written in Talos' go.mod,
#          default mirror directory name, path filter)
DEPS = {
    "cosi": ("cosi-project/runtime", ("github.com/cosi-project/runtime",), "cosi-project+runtime"),
    "retry": (
        "siderolabs/go-retry",
        ("github.com/siderolabs/go-retry", "github.com/talos-systems/go-retry"),
        "siderolabs+go-retry",
    ),
    "blockdevice": (
        "siderolabs/go-blockdevice",
        ("github.com/siderolabs/go-blockdevice", "github.com/talos-systems/go-blockdevice"),
        "siderolabs+go-blockdevice",
    ),
    "blockdevice2": (
        "siderolabs/go-blockdevice",
        ("github.com/siderolabs/go-blockdevice/v2",),
        "siderolabs+go-blockdevice",
    ),
    "discovery": (
        "siderolabs/discovery-client",
        ("github.com/siderolabs/discovery-client", "github.com/talos-systems/discovery-client"),
        "siderolabs+discovery-client",
    ),
}

# where a dependency's required version is not in the mirror, fall back to this ref
DEP_FALLBACK_REF = {"blockdevice2": "v2", "blockdevice": "main"}


def talos_path_ok(path: str) -> bool:
    if not path.endswith(".go") or path.endswith("_test.go"):
        return False
    if not path.startswith(("cmd/", "internal/", "pkg/")):
        return False
    if path.startswith(("internal/integration/", "pkg/machinery/api/")):
        return False
    if "/testdata/" in path or "/mocks/" in path:
        return False
    base = path.rsplit("/", 1)[-1]
    if base.endswith((".pb.go", "_vtproto.pb.go")) or base.startswith("zz_generated"):
        return False
    return True


def dep_path_ok(repo: str, path: str) -> bool:
    if not path.endswith(".go") or path.endswith("_test.go") or "/testdata/" in path:
        return False
    if path.endswith(".pb.go") or "/mocks/" in path:
        return False
    if repo == "cosi":
        return path.startswith("pkg/") and not path.startswith(("pkg/state/protobuf/", "api/"))
    if path.startswith(("hack/", "cmd/", "examples/")):
        return False
    return True


# --------------------------------------------------------------------------
# git access


class Git:
    def __init__(self, git_dir: str):
        self.git_dir = git_dir
        self._cat = None

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", self.git_dir, *args], check=True, capture_output=True, text=True
        ).stdout

    def try_rev(self, ref: str) -> str | None:
        r = subprocess.run(
            ["git", "--git-dir", self.git_dir, "rev-parse", "-q", "--verify", ref + "^{commit}"],
            capture_output=True,
            text=True,
        )
        return r.stdout.strip() if r.returncode == 0 else None

    def ls_tree(self, ref: str) -> list[tuple[str, str]]:
        out = subprocess.run(
            ["git", "--git-dir", self.git_dir, "ls-tree", "-r", "-z", ref],
            check=True,
            capture_output=True,
        ).stdout
        res = []
        for rec in out.split(b"\0"):
            if not rec:
                continue
            meta, path = rec.split(b"\t", 1)
            _mode, typ, sha = meta.split()
            if typ == b"blob":
                res.append((path.decode("utf-8", "replace"), sha.decode()))
        return res

    def blob(self, sha: str) -> bytes:
        if self._cat is None:
            self._cat = subprocess.Popen(
                ["git", "--git-dir", self.git_dir, "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        assert self._cat.stdin and self._cat.stdout
        self._cat.stdin.write(sha.encode() + b"\n")
        self._cat.stdin.flush()
        header = self._cat.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            return b""
        size = int(header[2])
        data = self._cat.stdout.read(size)
        self._cat.stdout.read(1)
        return data

    def show(self, ref: str, path: str) -> str | None:
        r = subprocess.run(
            ["git", "--git-dir", self.git_dir, "show", f"{ref}:{path}"], capture_output=True
        )
        return r.stdout.decode("utf-8", "replace") if r.returncode == 0 else None

    def close(self):
        if self._cat is not None:
            self._cat.stdin.close()
            self._cat.wait()
            self._cat = None


# --------------------------------------------------------------------------
# Go source scanning

TOKEN_RE = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|`[^`]*`|\'(?:[^\'\\\n]|\\.)+\'', re.S
)

CALL_RE = re.compile(
    r"(?:\b([A-Za-z_]\w*)|(\)))\s*\.\s*("
    r"Info|Warn|Error|Debug|Fatal|Panic|DPanic|"
    r"Infof|Warnf|Errorf|Debugf|Fatalf|Panicf|Fatalln|Panicln|"
    r"Infow|Warnw|Errorw|Debugw|"
    r"Printf|Println|Print|Sprintf|Fprintf|Fprintln|Fprint|"
    r"New|Wrap|Wrapf"
    r")\s*\("
)
EVENT_RE = re.compile(r"\b(eventSink|UpdateState)\s*\(")
# log.SetPrefix("[talos] "), kmsg.SetupLogger(nil, "[talos] [initramfs]", nil)
PREFIX_CALL_RE = re.compile(r"\b(?:log\.SetPrefix|kmsg\.SetupLogger)\s*\(")
STATE_ARG_RE = re.compile(r"^events\.State(\w+)$")

FUNC_RE = re.compile(
    r"^func\s+(?:\(\s*(?:\w+\s+)?\*?\s*(\w+)(?:\[[^\]]*\])?\s*\)\s*)?(\w+)", re.M
)
NAME_RE = re.compile(
    r"^func\s+\(\s*(?:\w+\s+)?\*?(\w+)(?:\[[^\]]*\])?\s*\)\s+Name\(\)\s+string\s*\{\s*return\s+\"([^\"]+)\"",
    re.M,
)
ID_RE = re.compile(
    r"^func\s+\(\s*(?:\w+\s+)?\*?(\w+)\s*\)\s+ID\([^)]*\)\s+string\s*\{\s*return\s+\"([^\"]+)\"",
    re.M,
)
CTRL_NAME_RE = re.compile(r"^[a-z0-9]+\.[A-Z]\w*$")
CTRL_LIT_RE = re.compile(r'"([a-z0-9]+\.[A-Z]\w*Controller)"')
TASK_NAME_RE = re.compile(r"\},\s*\"(\w+)\"\s*$", re.M)

NL_RE = re.compile("\n")
# a printf verb: flags, width, precision, argument index, verb letter
VERB_RE = re.compile(r"%[-+# 0]*(?:\[\d+\])?(?:\d+|\*)?(?:\.(?:\d+|\*)?)?(?:\[\d+\])?[a-zA-Z%]")
WORDY_RE = re.compile(r"[A-Za-z]{2,}")
ZAP_FIELD_RE = re.compile(r"^zap\.(\w+)\(\s*(.*)$", re.S)

ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
           "\\": "\\", "'": "'", '"': '"'}


def decode_go_string(lit: str) -> str:
    if lit.startswith("`"):
        return lit[1:-1].replace("\r", "")
    body = lit[1:-1]
    if "\\" not in body:
        return body
    out = []
    i = 0
    n = len(body)
    raw = bytearray()

    def flush_raw():
        if raw:
            out.append(raw.decode("utf-8", "replace"))
            raw.clear()

    while i < n:
        c = body[i]
        if c != "\\":
            flush_raw()
            out.append(c)
            i += 1
            continue
        e = body[i + 1] if i + 1 < n else ""
        if e in ESCAPES:
            flush_raw()
            out.append(ESCAPES[e])
            i += 2
        elif e == "x":
            raw.append(int(body[i + 2 : i + 4], 16))
            i += 4
        elif e in "01234567":
            raw.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        elif e == "u":
            flush_raw()
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif e == "U":
            flush_raw()
            out.append(chr(int(body[i + 2 : i + 10], 16)))
            i += 10
        else:
            flush_raw()
            out.append(e)
            i += 2
    flush_raw()
    return "".join(out)


@dataclass
class Record:
    fmt: str
    level: str
    component: str
    keys: str
    extra: str
    line: int


class GoFile:
    """One Go source file with its comment/string spans, functions and context."""

    def __init__(self, src: str, path: str, repo: str):
        self.src = src
        self.path = path
        self.repo = repo
        self.span_end: dict[int, int] = {}
        self.span_kind: dict[int, str] = {}
        self.starts: list[int] = []
        self.ends: list[int] = []
        for m in TOKEN_RE.finditer(src):
            s, e = m.span()
            self.span_end[s] = e
            self.span_kind[s] = src[s]
            self.starts.append(s)
            self.ends.append(e)
        self.nl = [m.start() for m in NL_RE.finditer(src)]
        self.funcs = [(m.start(), m.group(1), m.group(2)) for m in FUNC_RE.finditer(src)]
        self.func_pos = [f[0] for f in self.funcs]
        self.ctrl_names = {m.group(1): m.group(2) for m in NAME_RE.finditer(src)}
        self.svc_ids = {m.group(1): m.group(2) for m in ID_RE.finditer(src)}
        self.ctrl_lits = sorted(set(CTRL_LIT_RE.findall(src)))

    def line_of(self, pos: int) -> int:
        return bisect.bisect_left(self.nl, pos) + 1

    def in_span(self, pos: int) -> bool:
        """True when pos lies inside a comment or a string literal."""
        k = bisect.bisect_right(self.starts, pos) - 1
        return k >= 0 and pos < self.ends[k]

    def parse_args(self, i: int) -> tuple[list[tuple[int, int]], int] | None:
        """i: index just after '('. Returns top-level argument spans and the end index."""
        src = self.src
        n = len(src)
        depth = 0
        start = i
        args = []
        while i < n:
            c = src[i]
            if c in "\"`'/":
                e = self.span_end.get(i)
                if e is not None:
                    i = e
                    continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                if depth == 0:
                    if src[start:i].strip():
                        args.append((start, i))
                    return args, i + 1
                depth -= 1
            elif c == "," and depth == 0:
                args.append((start, i))
                start = i + 1
            i += 1
        return None

    def strip_span(self, a: int, b: int) -> tuple[int, int]:
        src = self.src
        while a < b:
            if src[a].isspace():
                a += 1
                continue
            if src[a] == "/" and self.span_kind.get(a) == "/":
                a = self.span_end[a]
                continue
            break
        while b > a and src[b - 1].isspace():
            b -= 1
        # trailing comment inside an argument (e.g. `"x", // note`) is rare; drop it
        k = bisect.bisect_right(self.starts, b - 1) - 1
        while k >= 0 and self.ends[k] == b and self.span_kind[self.starts[k]] == "/" and self.starts[k] >= a:
            b = self.starts[k]
            while b > a and src[b - 1].isspace():
                b -= 1
            k = bisect.bisect_right(self.starts, b - 1) - 1
        return a, b

    def literal(self, a: int, b: int) -> str | None:
        """The argument a..b if it is exactly one string literal."""
        a, b = self.strip_span(a, b)
        if self.span_end.get(a) == b and self.span_kind[a] in "\"`":
            return decode_go_string(self.src[a:b])
        return None

    def concat(self, a: int, b: int) -> tuple[str, int] | None:
        """Argument a..b as literal parts joined by '+'; non-literal parts become %v.

        Returns (format, position of the first literal) or None when no literal part.
        The format is in printf syntax: '%' in literal parts is kept as written."""
        a, b = self.strip_span(a, b)
        src = self.src
        parts = []
        depth = 0
        i = a
        start = a
        while i < b:
            c = src[i]
            if c in "\"`'/":
                e = self.span_end.get(i)
                if e is not None:
                    i = e
                    continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif c == "+" and depth == 0:
                parts.append((start, i))
                start = i + 1
            i += 1
        parts.append((start, b))
        out = []
        first_lit = None
        for pa, pb in parts:
            lit = self.literal(pa, pb)
            if lit is None:
                out.append(None)
            else:
                if first_lit is None:
                    first_lit = self.strip_span(pa, pb)[0]
                out.append(lit)
        if first_lit is None:
            return None
        return out, first_lit

    def const_string(self, a: int, b: int) -> str | None:
        """The argument a..b if it is a string literal or a '+' of string literals."""
        c = self.concat(a, b)
        if c is None or any(p is None for p in c[0]):
            return None
        return "".join(c[0])

    def func_at(self, pos: int) -> tuple[int, str | None, str] | None:
        k = bisect.bisect_right(self.func_pos, pos) - 1
        return self.funcs[k] if k >= 0 else None

    def component(self, pos: int) -> str:
        path = self.path
        f = self.func_at(pos)
        recv = f[1] if f else None
        if self.repo == TALOS:
            base = path.rsplit("/", 1)[-1]
            if "/runtime/v1alpha1/" in path and base == "v1alpha1_controller.go":
                return "sequencer"
            if "/runtime/v1alpha1/" in path and "sequencer_tasks" in base and f:
                k = self.funcs.index(f)
                end = self.funcs[k + 1][0] if k + 1 < len(self.funcs) else len(self.src)
                names = TASK_NAME_RE.findall(self.src, f[0], end)
                return f"task {names[-1]}" if names else "sequencer"
            names = self.ctrl_names
            name = names.get(recv) if recv else None
            if name is None and len(set(names.values())) == 1:
                name = next(iter(names.values()))
            if name is not None:
                if CTRL_NAME_RE.match(name):
                    return name  # network.AddressSpecController
                if "/runtime/v1alpha1/platform/" in path:
                    return f"platform {name}"
            if "/controllers/" in path and not self.ctrl_names and len(self.ctrl_lits) == 1:
                return self.ctrl_lits[0]
            if recv and recv in self.svc_ids:
                return f"service {self.svc_ids[recv]}"
            if "/system/services/" in path and len(set(self.svc_ids.values())) == 1:
                return f"service {next(iter(self.svc_ids.values()))}"
            d = path.rsplit("/", 1)[0]
            return d
        d = path.rsplit("/", 1)[0] if "/" in path else "."
        gh = DEPS[self.repo][0]
        return f"{gh}/{d}" if d != "." else gh

    def zap_keys(self, args: list[tuple[int, int]]) -> str:
        keys = []
        for a, b in args:
            a, b = self.strip_span(a, b)
            text = self.src[a:b]
            if text.endswith("...") :
                keys.append("*")
                continue
            m = ZAP_FIELD_RE.match(text)
            if not m:
                continue
            fn = m.group(1)
            if fn == "Error":
                keys.append("error")
                continue
            if fn in ("Skip",):
                continue
            inner = self.parse_args(a + len("zap.") + len(fn) + 1)
            if inner and inner[0]:
                lit = self.literal(*inner[0][0])
                keys.append(lit if lit is not None else "*")
        return ",".join(keys)

    def sugared_keys(self, args: list[tuple[int, int]]) -> str:
        keys = []
        for j, (a, b) in enumerate(args):
            if j % 2 == 0:
                lit = self.literal(a, b)
                keys.append(lit if lit is not None else "*")
        return ",".join(keys)


PRINTF_LEVEL = {
    # method -> level (on a logger: zap sugared, std log.Logger, ...)
    "Infof": "info", "Warnf": "warn", "Errorf": "error", "Debugf": "debug",
    "Fatalf": "fatal", "Panicf": "panic",
    "Printf": "printf",
}
ZAP_LEVEL = {"Info": "info", "Warn": "warn", "Error": "error", "Debug": "debug",
             "Fatal": "fatal", "Panic": "panic", "DPanic": "dpanic"}
SUGARW_LEVEL = {"Infow": "info", "Warnw": "warn", "Errorw": "error", "Debugw": "debug"}


def printf_escape(s: str) -> str:
    return s.replace("%", "%%")


def go_quote(s: str) -> str:
    body = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + body + '"'


def substitute(fmt: str, lits: list[str | None]) -> str:
    """Put string-literal arguments of a printf call into its format
    (fmt.Errorf("[%s] %q: %s", "networking.os.device", x, "bad") ->
    '[networking.os.device] %q: bad'). Indexed or '*' verbs: left as is."""
    if not any(x is not None for x in lits):
        return fmt
    out = []
    last = 0
    j = 0
    for m in VERB_RE.finditer(fmt):
        v = m.group(0)
        if v == "%%":
            continue
        if "[" in v or "*" in v:
            return fmt
        lit = lits[j] if j < len(lits) else None
        j += 1
        if lit is None:
            continue
        verb = v[-1]
        if verb in "sv" and len(v) == 2:
            rep = printf_escape(lit)
        elif verb == "q" and len(v) == 2:
            rep = printf_escape(go_quote(lit))
        else:
            continue
        out.append(fmt[last : m.start()])
        out.append(rep)
        last = m.end()
    out.append(fmt[last:])
    return "".join(out)


def join_parts(parts: list[str | None], sep: str = "") -> str:
    """parts of a '+' concatenation: literals kept (printf syntax), others -> %v"""
    return sep.join("%v" if p is None else p for p in parts)


def extract(src: str, path: str, repo: str) -> list[Record]:
    """All catalogue records of one Go source file."""
    gf = GoFile(src, path, repo)
    recs: list[Record] = []

    def add(fmt: str, level: str, pos: int, keys: str = "", extra: str = ""):
        fmt = fmt.rstrip("\n")
        if not WORDY_RE.search(VERB_RE.sub(" ", fmt)):
            return  # no literal word: "%d/%d", "%s -> %s" match anything
        recs.append(Record(fmt, level, gf.component(pos), keys, extra, gf.line_of(pos)))

    for m in CALL_RE.finditer(src):
        if gf.in_span(m.start()):
            continue
        recv, paren, meth = m.group(1), m.group(2), m.group(3)
        pa = gf.parse_args(m.end())
        if pa is None:
            continue
        args, _end = pa
        if not args:
            continue
        if recv == "zap" or recv == "time" or recv == "strings":
            continue

        def fmt_arg(idx: int, printf: bool = True):
            if idx >= len(args):
                return None
            c = gf.concat(*args[idx])
            if c is None:
                return None
            parts, pos = c
            if printf:
                return substitute(join_parts(parts), [gf.const_string(a, b) for a, b in args[idx + 1 :]]), pos
            return join_parts([None if p is None else printf_escape(p) for p in parts]), pos

        def sprintf_arg(idx: int):
            # logger.Error(fmt.Sprintf("time query error with server %q", s), zap.Error(err))
            # (ntp.go before v1.10): the message is the Sprintf's format, at the logger's level
            if idx >= len(args):
                return None
            a, _b = gf.strip_span(*args[idx])
            if not src.startswith("fmt.Sprintf(", a):
                return None
            inner = gf.parse_args(a + len("fmt.Sprintf("))
            if not inner or not inner[0]:
                return None
            c = gf.concat(*inner[0][0])
            if c is None:
                return None
            parts, pos = c
            return substitute(join_parts(parts), [gf.const_string(x, y) for x, y in inner[0][1:]]), pos

        def println_args(start: int, sep: str):
            parts = []
            pos = None
            for a, b in args[start:]:
                lit = gf.literal(a, b)
                if lit is not None and pos is None:
                    pos = gf.strip_span(a, b)[0]
                parts.append(None if lit is None else printf_escape(lit))
            if pos is None or parts[0] is None:
                return None
            return join_parts(parts, sep), pos

        if recv == "fmt":
            if meth == "Errorf":
                r = fmt_arg(0)
                if r:
                    add(r[0], "errorf", r[1])
            elif meth == "Sprintf":
                r = fmt_arg(0)
                if r:
                    add(r[0], "sprintf", r[1])
            elif meth == "Printf":
                r = fmt_arg(0)
                if r:
                    add(r[0], "print", r[1])
            elif meth in ("Println", "Print"):
                r = println_args(0, " " if meth == "Println" else "")
                if r:
                    add(r[0], "print", r[1])
            elif meth == "Fprintf":
                r = fmt_arg(1)
                if r:
                    add(r[0], "fprintf", r[1])
            elif meth in ("Fprintln", "Fprint"):
                r = println_args(1, " " if meth == "Fprintln" else "")
                if r:
                    add(r[0], "fprintf", r[1])
            continue
        if recv.endswith("errors") if recv else False:
            if meth == "New":
                r = fmt_arg(0, printf=False)
                if r:
                    add(r[0], "errnew", r[1])
            elif meth == "Errorf":
                r = fmt_arg(0)
                if r:
                    add(r[0], "errorf", r[1])
            elif meth == "Wrap":
                r = fmt_arg(1, printf=False)
                if r:
                    add(r[0] + ": %v", "errorf", r[1], extra="wrap")
            elif meth == "Wrapf":
                r = fmt_arg(1)
                if r:
                    add(r[0] + ": %v", "errorf", r[1], extra="wrap")
            continue
        if recv == "status":
            if meth == "Errorf":
                r = fmt_arg(1)
                if r:
                    add(r[0], "grpc", r[1])
            elif meth == "Error":
                r = fmt_arg(1, printf=False)
                if r:
                    add(r[0], "grpc", r[1])
            continue
        if meth in ("New", "Wrap", "Wrapf", "Sprintf", "Fprintf", "Fprintln", "Fprint"):
            if recv == "log" and meth == "New" and len(args) >= 2:
                # log.New(w, prefix, flags): the prefix of every line of that logger
                a, b = gf.strip_span(*args[1])
                lit = gf.literal(a, b)
                if lit is not None:
                    add(printf_escape(lit), "prefix", a)
                elif src.startswith("fmt.Sprintf(", a):
                    inner = gf.parse_args(a + len("fmt.Sprintf("))
                    if inner and inner[0]:
                        c = gf.concat(*inner[0][0])
                        if c:
                            add(join_parts(c[0]), "prefix", c[1])
            continue
        std_log = recv == "log"
        if meth in ("Println", "Print", "Fatalln", "Panicln"):
            r = println_args(0, " " if meth.endswith("ln") else "")
            if r:
                lvl = {"Fatalln": "fatal", "Panicln": "panic"}.get(meth, "printf")
                add(r[0], lvl, r[1])
            continue
        if meth in PRINTF_LEVEL:
            r = fmt_arg(0)
            if r:
                lvl = PRINTF_LEVEL[meth]
                if std_log and lvl == "error":
                    continue
                add(r[0], lvl, r[1])
            continue
        if meth in ("Fatal", "Panic") and std_log:
            r = println_args(0, "")
            if r:
                add(r[0], meth.lower(), r[1])
            continue
        if meth in ZAP_LEVEL:
            r = fmt_arg(0, printf=False) or sprintf_arg(0)
            if r:
                add(r[0], ZAP_LEVEL[meth], r[1], keys=gf.zap_keys(args[1:]))
            continue
        if meth in SUGARW_LEVEL:
            r = fmt_arg(0, printf=False)
            if r:
                add(r[0], SUGARW_LEVEL[meth], r[1], keys=gf.sugared_keys(args[1:]))
            continue

    for m in PREFIX_CALL_RE.finditer(src):
        if gf.in_span(m.start()):
            continue
        pa = gf.parse_args(m.end())
        if pa is None:
            continue
        for a, b in pa[0]:
            lit = gf.literal(a, b)
            if lit is not None:
                add(printf_escape(lit), "prefix", gf.strip_span(a, b)[0])
                break

    for m in EVENT_RE.finditer(src):
        if gf.in_span(m.start()):
            continue
        pa = gf.parse_args(m.end())
        if pa is None:
            continue
        args, _ = pa
        for j, (a, b) in enumerate(args[:-1]):
            sa, sb = gf.strip_span(a, b)
            sm = STATE_ARG_RE.match(src[sa:sb])
            if sm:
                c = gf.concat(*args[j + 1])
                if c:
                    add(join_parts(c[0]), "event", c[1], extra=f"state={sm.group(1)}")
                break

    return recs


# --------------------------------------------------------------------------
# releases


RELEASE_TAG_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def discover_releases(git: Git, min_major: int = 1) -> list[tuple[str, str]]:
    """[(label, ref)] for the latest patch tag of every minor, then main."""
    latest: dict[tuple[int, int], tuple[int, str]] = {}
    for tag in git.run("tag").split():
        m = RELEASE_TAG_RE.match(tag)
        if not m:
            continue
        ma, mi, pa = map(int, m.groups())
        if ma < min_major:
            continue
        if (ma, mi) not in latest or pa > latest[(ma, mi)][0]:
            latest[(ma, mi)] = (pa, tag)
    rels = [(f"v{ma}.{mi}", latest[(ma, mi)][1]) for ma, mi in sorted(latest)]
    for head in ("main", "master", "HEAD"):
        sha = git.try_rev(head)
        if sha:
            rels.append(("main", sha))
            break
    return rels


GOMOD_RE = re.compile(r"^\s*(?:require\s+)?(\S+)\s+(v\S+)", re.M)
PSEUDO_RE = re.compile(r"-(?:\d+\.)?\d{14}-([0-9a-f]{12})$")


def dep_versions(git: Git, ref: str) -> dict[str, str]:
    gomod = git.show(ref, "go.mod") or ""
    # replace directives win
    found: dict[str, str] = {}
    for m in GOMOD_RE.finditer(gomod):
        mod, ver = m.group(1), m.group(2)
        for name, (_gh, mods, _d) in DEPS.items():
            if mod in mods:
                found[name] = ver
    return found


def resolve_dep_ref(git: Git, name: str, ver: str) -> tuple[str, str] | None:
    """(ref to read, note) for a go.mod version; note is '' when exact."""
    ver = ver.split("+")[0]
    m = PSEUDO_RE.search(ver)
    cands = [m.group(1)] if m else [ver]
    for c in cands:
        sha = git.try_rev(c)
        if sha:
            return (c if not m else sha, "")
    fb = DEP_FALLBACK_REF.get(name)
    sha = git.try_rev(fb) if fb else None
    if sha:
        # the commit, not the branch, so that links stay put
        return (sha, f"{ver}(absent:{fb})")
    return None


# --------------------------------------------------------------------------
# output


def tsv_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def fmt_ranges(sites_by_rel: dict[int, tuple], ) -> str:
    """release idx -> tuple of (pathid, line). Runs of consecutive releases with
    identical sites are written once: 'a-b:p@l+p@l'."""
    out = []
    run = None  # [start, end, sites]
    for r in sorted(sites_by_rel):
        s = sites_by_rel[r]
        if run and run[1] == r - 1 and run[2] == s:
            run[1] = r
        else:
            if run:
                out.append(run)
            run = [r, r, s]
    if run:
        out.append(run)
    parts = []
    for a, b, s in out:
        rng = f"{a}" if a == b else f"{a}-{b}"
        parts.append(rng + ":" + "+".join(f"{p}@{l}" for p, l in s))
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--git-dir", required=True, help="bare git dir of siderolabs/talos")
    ap.add_argument("--out", required=True, help="output directory (data/catalogue/)")
    ap.add_argument(
        "--deps-root",
        help="directory holding <owner>+<name>/repo mirrors of the dependencies "
        "(default: two levels above --git-dir, as the fetch tool lays them out)",
    )
    ap.add_argument("--dep", action="append", default=[], metavar="NAME=GITDIR",
                    help="explicit git dir of a dependency (cosi, retry, blockdevice, blockdevice2)")
    ap.add_argument("--no-deps", action="store_true", help="Talos only")
    ap.add_argument("--releases", help="comma-separated label=ref list instead of discovery")
    ap.add_argument("--gzip", choices=["auto", "yes", "no"], default="auto",
                    help="write .tsv.gz instead of .tsv (auto: when over 4 MiB)")
    ap.add_argument("-q", "--quiet", action="store_true")
    ns = ap.parse_args(argv)

    def log(*a):
        if not ns.quiet:
            print(*a, file=sys.stderr)

    talos = Git(ns.git_dir)
    if ns.releases:
        rels = [tuple(x.split("=", 1)) for x in ns.releases.split(",")]
    else:
        rels = discover_releases(talos)
    log("releases:", " ".join(f"{l}={r[:12]}" for l, r in rels))

    deps_root = ns.deps_root or os.path.dirname(os.path.dirname(os.path.abspath(ns.git_dir)))
    dep_git: dict[str, Git] = {}
    if not ns.no_deps:
        explicit = dict(x.split("=", 1) for x in ns.dep)
        for name, (_gh, _mods, dirname) in DEPS.items():
            gd = explicit.get(name) or os.path.join(deps_root, dirname, "repo")
            if os.path.isdir(gd):
                dep_git[name] = Git(gd)
            else:
                log(f"note: no mirror for {name} at {gd}; its messages are left out")

    # (repo, ref) list per release
    rel_sources: list[list[tuple[str, str, str]]] = []  # [(repo, ref, note)]
    for label, ref in rels:
        srcs = [(TALOS, ref, "")]
        if dep_git:
            for name, ver in sorted(dep_versions(talos, ref).items()):
                if name not in dep_git:
                    continue
                rr = resolve_dep_ref(dep_git[name], name, ver)
                if rr is None:
                    log(f"note: {label}: {name} {ver} not resolvable, skipped")
                    continue
                srcs.append((name, rr[0], rr[1] or ("" if rr[0] == ver else ver)))
        rel_sources.append(srcs)

    # extraction, cached per (repo, blob, path)
    cache: dict[tuple[str, str, str], list[Record]] = {}
    path_ids: dict[tuple[str, str], int] = {}
    # key -> {rel idx -> set((pathid, line))}
    entries: dict[tuple, dict[int, set]] = defaultdict(lambda: defaultdict(set))
    files_per_rel = []
    for ri, ((label, _ref), srcs) in enumerate(zip(rels, rel_sources)):
        nfiles = 0
        for repo, ref, _note in srcs:
            git = talos if repo == TALOS else dep_git[repo]
            ok = talos_path_ok if repo == TALOS else (lambda p, r=repo: dep_path_ok(r, p))
            for path, sha in git.ls_tree(ref):
                if not ok(path):
                    continue
                nfiles += 1
                key = (repo, sha, path)
                recs = cache.get(key)
                if recs is None:
                    src = git.blob(sha).decode("utf-8", "replace")
                    recs = extract(src, path, repo)
                    cache[key] = recs
                if not recs:
                    continue
                pid = path_ids.setdefault((repo, path), len(path_ids))
                for rc in recs:
                    ek = (repo, rc.component, rc.fmt, rc.level, rc.keys, rc.extra)
                    entries[ek][ri].add((pid, rc.line))
        files_per_rel.append(nfiles)
        log(f"{label}: {nfiles} files scanned, {len(cache)} blobs cached")

    talos.close()
    for g in dep_git.values():
        g.close()

    # only paths that are referenced
    os.makedirs(ns.out, exist_ok=True)
    lines = []
    lines.append(f"# talos-doctor message catalogue; generated by tools/catalogue/gen.py; do not edit")
    lines.append(f"V\t{SCHEMA}")
    gh = {TALOS: "siderolabs/talos", **{k: v[0] for k, v in DEPS.items()}}
    for repo in [TALOS] + sorted(dep_git):
        lines.append(f"G\t{repo}\t{gh[repo]}")
    for ri, ((label, ref), srcs) in enumerate(zip(rels, rel_sources)):
        refs = ",".join(f"{repo}={r}" + (f"~{tsv_escape(note)}" if note and repo != TALOS else "")
                        for repo, r, note in srcs)
        lines.append(f"R\t{ri}\t{label}\t{refs}")
    for (repo, path), pid in sorted(path_ids.items(), key=lambda x: x[1]):
        lines.append(f"P\t{pid}\t{repo}\t{path}")

    per_rel = [0] * len(rels)
    per_rel_repo = [defaultdict(int) for _ in rels]
    by_level = defaultdict(int)
    out_entries = []
    for ek, rs in entries.items():
        repo, comp, fmt, level, keys, extra = ek
        sites = {r: tuple(sorted(s)) for r, s in rs.items()}
        for r in sites:
            per_rel[r] += 1
            per_rel_repo[r][repo] += 1
        by_level[level] += 1
        out_entries.append(((repo != TALOS, repo, comp, fmt, level, keys, extra), sites))
    out_entries.sort(key=lambda x: x[0])
    for (_, repo, comp, fmt, level, keys, extra), sites in out_entries:
        lines.append("\t".join(["E", level, tsv_escape(comp), tsv_escape(keys), tsv_escape(extra),
                                fmt_ranges(sites), tsv_escape(fmt)]))
    data = ("\n".join(lines) + "\n").encode()

    use_gz = ns.gzip == "yes" or (ns.gzip == "auto" and len(data) > 4 * 1024 * 1024)
    base = os.path.join(ns.out, "talos-messages.tsv")
    for stale in (base, base + ".gz"):
        if os.path.exists(stale):
            os.remove(stale)
    if use_gz:
        with open(base + ".gz", "wb") as f:
            f.write(gzip.compress(data, 9, mtime=0))
    else:
        with open(base, "wb") as f:
            f.write(data)
    gz_size = len(gzip.compress(data, 9, mtime=0))

    # stats for the README
    stats = [f"entries\t{len(out_entries)}", f"paths\t{len(path_ids)}",
             f"raw_bytes\t{len(data)}", f"gzip_bytes\t{gz_size}"]
    for ri, (label, ref) in enumerate(rels):
        repos = " ".join(f"{k}={v}" for k, v in sorted(per_rel_repo[ri].items()))
        stats.append(f"release\t{label}\t{ref}\t{per_rel[ri]}\t{files_per_rel[ri]}\t{repos}")
    for lvl, n in sorted(by_level.items(), key=lambda x: -x[1]):
        stats.append(f"level\t{lvl}\t{n}")
    with open(os.path.join(ns.out, "stats.tsv"), "w") as f:
        f.write("\n".join(stats) + "\n")
    log("\n".join(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
