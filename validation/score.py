#!/usr/bin/env python3
"""Scores a talos-doctor binary on a set of real logs with established causes.

usage: score.py BINARY DIR [DIR...] [--tsv OUT]

Each DIR holds input.log and case.json (../../fixtures' shape). A case is right when:
  - failure with a taxonomy category: exit 1 and the first finding has that category;
  - failure whose cause fits no category ("unknown"): exit 3 and no `error` finding;
  - healthy or benign ("none" or "none_*"): exit 0 and no `error` finding.
Prints one line per case and the totals: share right, share right on failures, failures
reported as healthy (exit 0), healthy logs given an `error` finding, and fragments (<= 6 lines).
"""
import json
import os
import subprocess
import sys


def verdict(binary, d):
    case = json.load(open(os.path.join(d, "case.json"), encoding="utf-8"))
    log = os.path.join(d, "input.log")
    want = case["root_cause_category"]
    healthy = want == "none" or want.startswith("none_")
    p = subprocess.run([binary, "analyze", "--format", "json", log], capture_output=True, timeout=60)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        doc = {"findings": [], "outcome": "?"}
    findings = doc.get("findings") or []
    errors = [f for f in findings if f.get("severity") == "error"]
    top = findings[0]["category"] if findings else None
    code = p.returncode
    if want == "unknown":
        ok = code == 3 and not errors
    elif healthy:
        ok = code == 0 and not errors
    else:
        ok = code == 1 and top == want
    with open(log, "rb") as f:
        n = f.read().count(b"\n") or 1
    return {
        "case": os.path.basename(d.rstrip("/")),
        "want": "none" if healthy else want,
        "healthy": healthy,
        "exit": code,
        "got": top if code == 1 else ("unknown" if code == 3 else ("none" if code == 0 else f"error{code}")),
        "outcome": doc.get("outcome"),
        "ok": ok,
        "fragment": n <= 6,
        "source": case.get("source", ""),
    }


def main():
    args = sys.argv[1:]
    tsv = None
    if "--tsv" in args:
        i = args.index("--tsv")
        tsv = args[i + 1]
        del args[i : i + 2]
    binary, dirs = args[0], args[1:]
    rows = [verdict(binary, d) for d in dirs]
    for r in rows:
        print(f"{'ok  ' if r['ok'] else 'MISS'} {r['case']:60} want {r['want']:34} got {r['got']} (exit {r['exit']}, {r['outcome']})")
    fail = [r for r in rows if not r["healthy"]]
    good = [r for r in rows if r["healthy"]]
    frag = [r for r in rows if r["fragment"]]
    pct = lambda a, b: f"{a}/{b} ({100 * a / b:.0f} %)" if b else "0/0"
    print()
    print(f"right: {pct(sum(r['ok'] for r in rows), len(rows))}")
    print(f"right on failures: {pct(sum(r['ok'] for r in fail), len(fail))}")
    print(f"failures reported healthy (exit 0): {pct(sum(r['exit'] == 0 for r in fail), len(fail))}")
    print(f"healthy/benign right: {pct(sum(r['ok'] for r in good), len(good))}")
    print(f"fragments (<= 6 lines) right: {pct(sum(r['ok'] for r in frag), len(frag))}")
    if tsv:
        with open(tsv, "w", encoding="utf-8") as f:
            f.write("case\tsource\twant\tgot\texit\tok\n")
            for r in rows:
                f.write(f"{r['case']}\t{r['source']}\t{r['want']}\t{r['got']}\t{r['exit']}\t{r['ok']}\n")


if __name__ == "__main__":
    sys.exit(main())
