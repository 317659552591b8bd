#!/usr/bin/env python3
"""Tests of the catalogue generator against the checked-in source excerpt.

    python3 tools/catalogue/test_gen.py            # run
    python3 tools/catalogue/test_gen.py --regen    # rewrite expected.tsv (then review the diff by hand)

data/catalogue/excerpt/MANIFEST.tsv lists the excerpt files (verbatim copies of Talos and
go-retry sources at a tag, one of them a line range); expected.tsv next to it holds the records
the extraction must give for them, each checked by hand against the source.

With TALOS_GIT_DIR set to a git dir of siderolabs/talos, the catalogue data is also checked
against the source: sampled entries must show their format text at the recorded line.
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


def manifest():
    rows = []
    with open(os.path.join(EXCERPT, "MANIFEST.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            local, repo, gh, ref, path, first, sha = line.rstrip("\n").split("\t")
            rows.append(dict(local=local, repo=repo, gh=gh, ref=ref, path=path, first=int(first), sha=sha))
    return rows


def extract_excerpt():
    """[(repo, path, line, level, component, keys, extra, format)] for every excerpt file."""
    out = []
    for m in manifest():
        src = open(os.path.join(EXCERPT, m["local"]), encoding="utf-8").read()
        for r in gen.extract(src, m["path"], m["repo"]):
            out.append((m["repo"], m["path"], r.line + m["first"] - 1, r.level, r.component, r.keys, r.extra, r.fmt))
    return out


def load_expected():
    rows = []
    with open(os.path.join(EXCERPT, "expected.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            repo, path, ln, level, comp, keys, extra, fmt = line.rstrip("\n").split("\t")
            rows.append((repo, path, int(ln), level, comp, keys, extra, unesc(fmt)))
    return rows


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


class ExcerptTest(unittest.TestCase):
    def test_excerpt_is_small_and_intact(self):
        total = 0
        for m in manifest():
            data = open(os.path.join(EXCERPT, m["local"]), "rb").read()
            total += len(data)
            self.assertEqual(hashlib.sha256(data).hexdigest(), m["sha"], m["local"])
        self.assertLess(total, 50 * 1024)

    def test_extraction_reproduces_expected(self):
        got = extract_excerpt()
        want = load_expected()
        self.assertEqual(sorted(got), sorted(want))

    def test_named_entries(self):
        """Written by hand from the source, independent of expected.tsv."""
        got = {(r[7], r[3], r[4], r[2]) for r in extract_excerpt()}
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
            ("retrying error: %s", "printf", "siderolabs/go-retry/retry", 258),
        ]:
            self.assertIn((fmt, level, comp, line), got, fmt)
        self.assertTrue(ctl)
        # zap field keys and event states
        by_fmt = {r[7]: r for r in extract_excerpt()}
        self.assertEqual(by_fmt["node watch error"][5], "error,error_count")
        self.assertEqual(by_fmt["Error running %v, going to restart forever: %v"][6], "state=Waiting")

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


def regen():
    rows = sorted(extract_excerpt(), key=lambda r: (r[0], r[1], r[2], r[7]))
    with open(os.path.join(EXCERPT, "expected.tsv"), "w") as f:
        f.write("# records gen.extract must give for the excerpt files (see MANIFEST.tsv); checked by hand\n")
        f.write("# repo\tpath\tline\tlevel\tcomponent\tkeys\textra\tformat\n")
        for r in rows:
            f.write("\t".join(map(str, r[:7])) + "\t" + gen.tsv_escape(r[7]) + "\n")
    print(f"{len(rows)} records written")


if __name__ == "__main__":
    if "--regen" in sys.argv:
        regen()
    else:
        unittest.main()
