#!/usr/bin/env python3
"""Turns `talos-doctor rules patterns` (Rust regex syntax, one per line) into pattern files
for the baselines.

Usage: patterns.py IN RG_OUT GREP_OUT

* rg (Rust regex too) only needs named groups made plain: `rg -f` joins the patterns into
  one regex, where the same group name used by two rules is an error.
* grep -E (POSIX ERE, GNU) gets a conversion: `(?:`/`(?P<n>` → `(`, lazy `*?`/`+?` → greedy
  (same lines match: only the extent of a match changes), `\\d` `\\s` `\\S` `\\w` → classes.
  Patterns with inline flags (`(?i)`) cannot be expressed in one ERE and are dropped; the
  count of dropped patterns is printed on stderr.
"""

import re
import sys

CLASS = {"d": "0-9", "s": "[:space:]", "w": "[:alnum:]_"}
OUTSIDE = {"d": "[0-9]", "s": "[[:space:]]", "S": "[^[:space:]]", "w": "[[:alnum:]_]", "W": "[^[:alnum:]_]", "D": "[^0-9]"}


def to_ere(p):
    if "(?i" in p or "(?s" in p or "(?m" in p:
        return None
    out, i, in_class = [], 0, False
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            n = p[i + 1]
            if in_class and n in CLASS:
                out.append(CLASS[n])
            elif in_class and n == "\\":
                out.append("\\")
            elif not in_class and n in OUTSIDE:
                out.append(OUTSIDE[n])
            else:
                out.append(c + n)
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            if p[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
            if p[i + 1 : i + 2] == "]":
                out.append("]")
                i += 1
            i += 1
            continue
        if p.startswith("(?:", i):
            out.append("(")
            i += 3
            continue
        m = re.match(r"\(\?P?<[A-Za-z_][A-Za-z0-9_]*>", p[i:])
        if m:
            out.append("(")
            i += len(m.group(0))
            continue
        if c in "*+?}" and p[i + 1 : i + 2] == "?":
            out.append(c)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def main():
    src, rg_out, grep_out = sys.argv[1:4]
    pats = [l.rstrip("\n") for l in open(src, encoding="utf-8") if l.strip()]
    with open(rg_out, "w", encoding="utf-8") as f:
        for p in pats:
            f.write(re.sub(r"\(\?P?<[A-Za-z_][A-Za-z0-9_]*>", "(", p) + "\n")
    dropped = 0
    with open(grep_out, "w", encoding="utf-8") as f:
        for p in pats:
            e = to_ere(p)
            if e is None:
                dropped += 1
            else:
                f.write(e + "\n")
    print(f"{len(pats)} patterns; grep -E: {dropped} dropped (inline flags such as (?i))", file=sys.stderr)


if __name__ == "__main__":
    main()
