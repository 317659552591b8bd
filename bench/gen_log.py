#!/usr/bin/env python3
"""Builds a large, realistic Talos log for benchmarks.

Usage: gen_log.py SIZE OUT [--nodes N] [--boots B] [--seed S]

SIZE is bytes with an optional K/M/G suffix (binary units: 1M = 1 MiB). The log holds
N nodes (talosctl `<node>: ` prefixes, lines interleaved in random runs), each booting B
times. Every boot replays one fixture from fixtures/*/input.log (its own node prefix
stripped), spread over a stream of noise of the kind a running node prints: service state
lines, zap controller lines with JSON fields (about 1% of them carrying an `error`), kubelet
JSON lines and kernel lines. Half the nodes use the `talosctl dmesg` shape
(`user: warning: [RFC 3339]: [talos] …`), the other half `talosctl logs machined` of a
container (`2006/01/02 15:04:05.000000 [talos] 2006/01/02 15:04:05 …`). The output is
deterministic for a given seed. Pure standard library; about 10 s per GiB.
"""

import glob
import os
import random
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A node prefix already on a fixture line (talosctl output); it is replaced by ours.
NODE_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]+: (?=\[talos\]|\{|\s*(?:kern|user|daemon|auth|syslog):|\d{4}/|\[\s*\d)")


def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    s = s.strip().upper().rstrip("B").rstrip("I")
    if s and s[-1] in units:
        return int(float(s[:-1]) * units[s[-1]])
    return int(s)


def load_fixtures():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures", "*", "input.log"))):
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        lines = [NODE_PREFIX.sub("", l) for l in lines]
        if lines:
            out.append((os.path.basename(os.path.dirname(path)), lines))
    return out


SERVICES = ["apid", "trustd", "etcd", "kubelet", "cri", "containerd", "udevd", "machined", "syslogd"]
CONTROLLERS = [
    ("network.AddressSpecController", 'assigned address', '"address": "10.5.0.{n}/24", "link": "eth0"'),
    ("network.RouteSpecController", 'created route', '"destination": "0.0.0.0/0", "gateway": "10.5.0.1", "link": "eth0"'),
    ("network.LinkStatusController", 'link status changed', '"link": "eth0", "operState": "up"'),
    ("network.ResolverSpecController", 'setting resolvers', '"resolvers": ["1.1.1.1", "8.8.8.8"]'),
    ("k8s.KubeletStaticPodController", 'static pod updated', '"pod": "kube-apiserver-talos-cp-{n}"'),
    ("secrets.KubernetesCertSANController", 'certificate SANs updated', '"sans": ["10.5.0.{n}", "127.0.0.1"]'),
    ("cluster.DiscoveryServiceController", 'discovery update', '"affiliates": {n}'),
    ("runtime.KmsgLogDeliveryController", 'kmsg log delivered', '"records": {n}'),
]
ERRORS = [
    ("k8s.NodeStatusController", 'error getting node: Get \\"https://127.0.0.1:7445/api/v1/nodes/talos-cp-1\\": dial tcp 127.0.0.1:7445: connect: connection refused'),
    ("k8s.KubeletStaticPodController", 'error refreshing pod status: Get \\"https://127.0.0.1:10250/pods/?timeout=30s\\": remote error: tls: internal error'),
    ("cluster.DiscoveryServiceController", 'rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing\\"'),
]
KERNEL = [
    ("kern", "info", "eth0: Link is Up - 10Gbps/Full - flow control off"),
    ("kern", "info", "IPv6: ADDRCONF(NETDEV_CHANGE): lxc{n}: link becomes ready"),
    ("kern", "notice", 'audit: type=1400 audit({n}.123:456): apparmor="DENIED" operation="open" profile="cri-containerd.apparmor.d"'),
    ("kern", "info", "cni0: port {n}(veth{n}abc) entered forwarding state"),
    ("kern", "warning", "overlayfs: upperdir is in-use as upperdir/workdir of another mount, accessing files from both mounts will result in undefined behavior."),
]
KUBELET_JSON = [
    '{{"ts":{t}.{n},"caller":"kubelet/kubelet.go:2412","msg":"SyncLoop (PLEG): event for pod","pod":"kube-system/kube-proxy-{n}","v":2}}',
    '{{"ts":{t}.{n},"caller":"prober/prober.go:107","msg":"Probe succeeded","probeType":"Readiness","pod":"kube-system/coredns-{n}","v":3}}',
]


def noise_pool(node, rng, size=4000):
    """Message bodies (after the envelope) and whether they carry the `[talos]` prefix."""
    pool = []
    for _ in range(size):
        n = rng.randrange(2, 250)
        r = rng.random()
        if r < 0.40:
            s = rng.choice(SERVICES)
            text = rng.choice([
                f"service[{s}](Running): Health check successful",
                f"service[{s}](Running): Started task {s} (PID {n * 37}) for container {s}",
                f"service[{s}](Waiting): Waiting for service \"cri\" to be \"up\"",
                f"service[{s}](Preparing): Running pre state",
            ])
            pool.append(("talos", text))
        elif r < 0.78:
            ctrl, msg, fields = rng.choice(CONTROLLERS)
            fields = fields.replace("{n}", str(n))
            pool.append(("talos", f'{msg} {{"component": "controller-runtime", "controller": "{ctrl}", {fields}}}'))
        elif r < 0.79:
            ctrl, err = rng.choice(ERRORS)
            pool.append(("talos", f'controller failed {{"component": "controller-runtime", "controller": "{ctrl}", "error": "{err}"}}'))
        elif r < 0.92:
            fac, lvl, text = rng.choice(KERNEL)
            pool.append(("kern", (fac, lvl, text.replace("{n}", str(n)))))
        else:
            pool.append(("json", rng.choice(KUBELET_JSON).format(t=1714494926 + n, n=n)))
    return pool


class Clock:
    def __init__(self, start):
        self.t = start

    def tick(self, dt):
        self.t += dt

    def rfc3339(self):
        frac = int((self.t % 1) * 1e9)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.t)) + f".{frac:09d}Z"

    def go(self):
        return time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(self.t))


def node_stream(node, dmesg_shape, fixtures, boots, budget, rng):
    """Yields the lines (without newline) of one node until `budget` bytes are spent."""
    pool = noise_pool(node, rng)
    clock = Clock(1_717_000_000 + rng.randrange(0, 1000))
    spent = 0
    prefix = node + ": "
    per_boot = max(1, budget // boots)
    for boot in range(boots):
        name, fx = fixtures[rng.randrange(len(fixtures))]
        # Fixture lines are spread evenly over this boot's share of noise.
        gap = max(1, (per_boot // 140) // (len(fx) + 1))
        limit = spent + per_boot if boot < boots - 1 else budget
        i = 0
        stamp_d = clock.rfc3339()
        stamp_g = clock.go()
        k = 0
        while spent < limit:
            if k % gap == 0 and i < len(fx):
                line = prefix + fx[i]
                i += 1
            else:
                kind, body = pool[rng.randrange(len(pool))]
                if kind == "talos":
                    if dmesg_shape:
                        line = f"{prefix}user: warning: [{stamp_d}]: [talos] {body}"
                    else:
                        line = f"{prefix}{stamp_g}.{k % 1000000:06d} [talos] {stamp_g} {body}"
                elif kind == "kern":
                    fac, lvl, text = body
                    line = f"{prefix}{fac}: {lvl:>7}: [{stamp_d}]: {text}"
                else:
                    line = prefix + body
            k += 1
            if k % 64 == 0:
                clock.tick(rng.random())
                stamp_d = clock.rfc3339()
                stamp_g = clock.go()
            spent += len(line) + 1
            yield line
        # The rest of the fixture, if the boot's share was too small to spread it.
        while i < len(fx):
            line = prefix + fx[i]
            i += 1
            spent += len(line) + 1
            yield line


def main(argv):
    args = argv[1:]
    opts = {"--nodes": 4, "--boots": 3, "--seed": 7}
    pos = []
    while args:
        a = args.pop(0)
        if a in opts:
            opts[a] = int(args.pop(0))
        else:
            pos.append(a)
    if len(pos) != 2:
        sys.exit(__doc__)
    size, out = parse_size(pos[0]), pos[1]
    rng = random.Random(opts["--seed"])
    fixtures = load_fixtures()
    if not fixtures:
        sys.exit("no fixtures/*/input.log found")
    n = opts["--nodes"]
    streams = [
        node_stream(f"10.5.0.{i + 2}", i % 2 == 0, fixtures, opts["--boots"], size // n, random.Random(rng.random()))
        for i in range(n)
    ]
    written = 0
    buf = []
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        live = list(streams)
        while live:
            s = live[rng.randrange(len(live))]
            for _ in range(rng.randrange(1, 24)):
                try:
                    line = next(s)
                except StopIteration:
                    live.remove(s)
                    break
                buf.append(line)
            if len(buf) >= 8192:
                chunk = "\n".join(buf) + "\n"
                f.write(chunk)
                written += len(chunk)
                buf.clear()
        if buf:
            f.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main(sys.argv)
