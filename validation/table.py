#!/usr/bin/env python3
"""Markdown rows for a set's cases.md: each case's source, category and the verdicts of two
builds (the one it was scored with before any change for it, and the one after).

    python3 validation/table.py BEFORE_BINARY AFTER_BINARY DIR...
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from score import verdict  # noqa: E402


def main():
    before, after, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    print("| case | source | category | before | after |")
    print("|---|---|---|---|---|")
    for d in sorted(dirs):
        b, a = verdict(before, d), verdict(after, d)
        mark = lambda v: f"{v['got']} {'✓' if v['ok'] else '✗'}"  # noqa: E731
        print(f"| {b['case']} | {b['source']} | {b['want']} | {mark(b)} | {mark(a)} |")


if __name__ == "__main__":
    main()
