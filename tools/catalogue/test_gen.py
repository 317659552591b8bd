#!/usr/bin/env python3
"""Tests of the catalogue generator.

    python3 tools/catalogue/test_gen.py
    TALOS_GIT_DIR=/path/to/talos.git python3 tools/catalogue/test_gen.py

Without a mirror: the extraction of hand-written Go forms and the shape of the checked-in data.
With TALOS_GIT_DIR set to a git dir of siderolabs/talos (the Talos source is not checked in, it
is not ours to copy): entries named by hand are extracted from the source at NAMED_TAG, and
sampled catalogue entries must show their format text at the recorded line.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXCERPT = os.path.join(ROOT, "data", "catalogue", "excerpt")
DATA = os.path.join(ROOT, "data", "catalogue", "talos-messages.tsv")
sys.path.insert(0, HERE)

import gen  # noqa: E402


def unesc(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"t": "\t", "n": "\n", "r": "\r"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


# The named entries below were read by hand in the Talos source at this tag. The source is
# not checked in (it is not ours to copy), so they are checked against a mirror when one is given.
NAMED_TAG = "v1.13.7"


def extract_tree(git: str, tag: str, under: str):
    """[(path, line, level, component, keys, extra, format)] of every Go file under a folder at a tag."""
    files = subprocess.run(["git", "--git-dir", git, "ls-tree", "-r", "--name-only", tag, under],
                           capture_output=True, text=True, check=True).stdout.split()
    out = []
    for path in files:
        if not path.endswith(".go") or path.endswith("_test.go"):
            continue
        src = subprocess.run(["git", "--git-dir", git, "show", f"{tag}:{path}"],
                             capture_output=True, text=True).stdout
        for r in gen.extract(src, path, "talos"):
            out.append((path, r.line, r.level, r.component, r.keys, r.extra, r.fmt))
    return out


class ExtractTest(unittest.TestCase):
    @unittest.skipUnless(os.environ.get("TALOS_GIT_DIR"), "set TALOS_GIT_DIR to check named entries against the source")
    def test_named_entries(self):
        """Written by hand from the source at NAMED_TAG."""
        recs = extract_tree(os.environ["TALOS_GIT_DIR"], NAMED_TAG, "internal/app/machined")
        # the lines were read at another release for some entries: the format, level and
        # component are what the analyzer relies on, so those are checked
        got = {(r[6], r[2], r[3]) for r in recs}
        ctl = "internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_controller.go"
        for fmt, level, comp, line in [
            ("task %s (%s): failed: %s", "printf", "sequencer", 375),
            ("task %s (%s): done, %s", "printf", "sequencer", 378),
            ("task %s (%s): starting", "printf", "sequencer", 370),
            ("phase %s (%s): failed", "printf", "sequencer", 306),
            ("phase %s (%s): %d tasks(s)", "printf", "sequencer", 302),
            ("%s sequence: failed", "printf", "sequencer", 283),
            ("%s sequence: done: %s", "printf", "sequencer", 286),
            ("error running phase %d in %s sequence: %w", "errorf", "sequencer", 309),
            ("task %s: failed, %w", "errorf", "sequencer", 345),
            ("[talos] task %s (%s): ", "prefix", "sequencer", 387),
            ("service[%s](%s): %s", "printf", "internal/app/machined/pkg/system", 92),
            ("service[%s](%s): %s", "printf", "internal/app/machined/pkg/system", 141),
            ("Waiting for %s", "event", "internal/app/machined/pkg/system", 165),
            ("Health check failed: %s", "sprintf", "internal/app/machined/pkg/system", 130),
            ("Error running %v, going to restart forever: %v", "event",
             "internal/app/machined/pkg/system/runner/restart", 145),
            ("Error running %s, going to restart until it succeeds: %v", "event",
             "internal/app/machined/pkg/system/runner/restart", 140),
            ("node watch error", "error", "k8s.NodeStatusController", 119),
            ("waiting %d second(s) for USB storage", "printf", "task waitForUSB", 108),
            ("WARNING: minimum memory size is %v MiB", "printf", "task memorySizeCheck", 190),
            ("failed to create config request: %w", "errorf", "task loadConfig", 133),
        ]:
            self.assertTrue((fmt, level, comp) in got, (fmt, level, comp, line))
        self.assertTrue(ctl)
        # zap field keys and event states
        by_fmt = {r[6]: r for r in recs}
        self.assertEqual(by_fmt["node watch error"][4], "error,error_count")
        self.assertEqual(by_fmt["Error running %v, going to restart forever: %v"][5], "state=Waiting")

    def test_go_strings(self):
        self.assertEqual(gen.decode_go_string(r'"a\tb\"c\x41\u00e9\101"'), 'a\tb"cAéA')
        self.assertEqual(gen.decode_go_string("`raw\\n`"), "raw\\n")

    def test_extract_forms(self):
        src = '''package x

// log.Printf("in a comment %d", 1)
func (c *FooController) Name() string { return "x.FooController" }

func (c *FooController) Run() {
	logger.Info("plain 100%", zap.String("link", l), zap.Error(err), fields...)
	log.Println("memory is", n, "MiB")
	s := "log.Printf(\\"in a string\\")"
	return fmt.Errorf("[%s] %q: %s", "net.device", d, "bad " +
		"thing")
	errors.Wrap(err, "wrapping")
	stderrors.New("std " + name)
	status.Errorf(codes.Internal, "grpc %v", err)
	eventSink(events.StateRunning, "Started %s", x)
	log.New(w, fmt.Sprintf("[talos] task %s: ", n), 0)
	fmt.Sprintf("%d/%d", a, b)
	logger.Error(fmt.Sprintf("query error with server %q", s), zap.Error(err))
}
'''
        recs = {(r.fmt, r.level, r.component, r.keys, r.extra) for r in gen.extract(src, "internal/x/foo.go", "talos")}
        c = "x.FooController"
        self.assertEqual(recs, {
            ("plain 100%%", "info", c, "link,error,*", ""),
            ("memory is %v MiB", "printf", c, "", ""),
            ('[net.device] %q: bad thing', "errorf", c, "", ""),
            ("wrapping: %v", "errorf", c, "", "wrap"),
            ("std %v", "errnew", c, "", ""),
            ("grpc %v", "grpc", c, "", ""),
            ("Started %s", "event", c, "", "state=Running"),
            ("[talos] task %s: ", "prefix", c, "", ""),
            ("[talos] task %s: ", "sprintf", c, "", ""),
            ("query error with server %q", "error", c, "error", ""),
            ("query error with server %q", "sprintf", c, "", ""),
        })


class DataTest(unittest.TestCase):
    """The checked-in catalogue is well formed."""

    def test_data_well_formed(self):
        if not os.path.exists(DATA):
            self.skipTest("no data")
        rels, paths, n = 0, 0, 0
        with open(DATA, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                cols = line.rstrip("\n").split("\t")
                if cols[0] == "R":
                    self.assertEqual(int(cols[1]), rels)
                    rels += 1
                elif cols[0] == "P":
                    self.assertEqual(int(cols[1]), paths)
                    paths += 1
                elif cols[0] == "E":
                    self.assertEqual(len(cols), 7, line)
                    n += 1
                    for part in cols[5].split(" "):
                        rng, sites = part.split(":")
                        a, _, b = rng.partition("-")
                        self.assertLess(int(b or a), rels)
                        for s in sites.split("+"):
                            p, l = s.split("@")
                            self.assertLess(int(p), paths)
                            self.assertGreater(int(l), 0)
        self.assertGreater(n, 5000)
        self.assertGreaterEqual(rels, 15)


@unittest.skipUnless(os.environ.get("TALOS_GIT_DIR"), "set TALOS_GIT_DIR to check the data against the source")
class SourceTest(unittest.TestCase):
    def test_sampled_entries_at_their_lines(self):
        git = os.environ["TALOS_GIT_DIR"]
        rels, paths, entries = {}, {}, []
        with open(DATA, encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if cols[0] == "R":
                    refs = dict(x.split("=", 1) for x in cols[3].split(","))
                    rels[int(cols[1])] = refs["talos"]
                elif cols[0] == "P":
                    paths[int(cols[1])] = (cols[2], cols[3])
                elif cols[0] == "E":
                    entries.append(cols)
        rnd = random.Random(7)
        checked = 0
        for cols in rnd.sample(entries, 400):
            fmt = unesc(cols[6])
            last = cols[5].split(" ")[-1]
            rng, sites = last.split(":")
            rel = int(rng.split("-")[-1])
            pid, ln = map(int, sites.split("+")[0].split("@"))
            repo, path = paths[pid]
            if repo != "talos":
                continue
            src = subprocess.run(["git", "--git-dir", git, "show", f"{rels[rel]}:{path}"],
                                 capture_output=True, text=True).stdout.split("\n")
            # the words of the format are on that line (or, for arguments put into the format,
            # on the next few lines of the call)
            text = "\n".join(src[ln - 1 : ln + 3])
            words = [w for w in re.findall(r"[A-Za-z]{4,}", gen.VERB_RE.sub(" ", fmt)) if w]
            if not words:
                continue
            found = sum(w in text for w in words)
            self.assertGreaterEqual(found * 2, len(words), (path, ln, fmt, src[ln - 1]))
            first = src[ln - 1]
            self.assertTrue('"' in first or "`" in first, (path, ln, fmt, first))  # the literal starts here
            checked += 1
        self.assertGreater(checked, 200)


if __name__ == "__main__":
    unittest.main()
