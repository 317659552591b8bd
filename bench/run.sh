#!/usr/bin/env bash
# Benchmark: talos-doctor against ripgrep and grep on the same rule patterns.
#
#   bench/run.sh            1 MiB, 100 MiB and 1 GiB
#   bench/run.sh 100M       only the sizes given (K/M/G suffixes, binary units)
#
# Needs: cargo, python3, GNU time (/usr/bin/time; Debian/Ubuntu: `apt-get install time`),
# grep, and ripgrep (installed with `cargo install ripgrep --locked` when missing).
# Environment: BENCH_DIR (generated logs, default /tmp/talos-doctor-bench), REPEAT (runs per
# tool and size below 1 GiB, best kept; default 3), NODES/BOOTS/SEED (generator), NO_WATCH=1
# (skip the watch-latency measurement).
#
# For each size it generates a Talos log (bench/gen_log.py: fixtures replayed over realistic
# noise, several nodes and boots, talosctl `<node>: ` prefixes interleaved), then measures,
# with a warm page cache:
#   talos-doctor analyze --format json LOG          (release build)
#   rg -c -f PATTERNS LOG                           (the same rule patterns)
#   grep -cE -f PATTERNS.ere LOG                    (converted to POSIX ERE; see patterns.py)
# and the same talos-doctor with `-j 2` (td-j2: two threads in all, one preparing lines; its report must be
# the same), and prints wall time, MB/s, lines/s, peak RSS and the ratio of each tool's
# throughput to rg's. Then the shared workload (bench/shared.sh). Benchmarks measure;
# nothing here asserts a time.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1M 100M 1G)
bench_dir=${BENCH_DIR:-/tmp/talos-doctor-bench}
repeat=${REPEAT:-3}
mkdir -p "$bench_dir"

[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time" >&2; exit 2; }
if ! command -v rg >/dev/null; then
    echo "installing ripgrep: cargo install ripgrep --locked" >&2
    cargo install ripgrep --locked >&2
    export PATH="$HOME/.cargo/bin:$PATH"
fi

cargo build --release --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
td="$target_dir/release/talos-doctor"

"$td" rules patterns > "$bench_dir/patterns.txt"
python3 bench/patterns.py "$bench_dir/patterns.txt" "$bench_dir/patterns.rg" "$bench_dir/patterns.ere"

echo "host: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "versions: $("$td" --version), $(rg --version | head -1), $(grep --version | head -1)"
echo

# measure LOG RUNS CMD...: runs CMD (stdout to a file) and prints "secs rss_kib" of the best run.
measure() {
    local log=$1 runs=$2
    shift 2
    local best="" best_rss=0
    for _ in $(seq "$runs"); do
        local t
        # GNU time appends its line to the command's stderr; exit codes 1-3 are verdicts.
        # Not >/dev/null: GNU grep notices it and stops at the first match.
        /usr/bin/time -f "TIME %e %M" "$@" > "$bench_dir/out" 2> "$bench_dir/err" || true
        t=$(grep '^TIME' "$bench_dir/err" | tail -1)
        local secs rss
        secs=$(echo "$t" | awk '{print $2}')
        rss=$(echo "$t" | awk '{print $3}')
        if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN{exit !(a<b)}'; then
            best=$secs
            best_rss=$rss
        fi
    done
    echo "$best $best_rss"
}

printf '%-6s %-12s %9s %10s %12s %9s %9s\n' size tool seconds MB/s lines/s RSS_MiB vs_rg
for size in "${sizes[@]}"; do
    log="$bench_dir/talos-$size.log"
    if [ ! -s "$log" ]; then
        python3 bench/gen_log.py "$size" "$log" --nodes "${NODES:-4}" --boots "${BOOTS:-3}" --seed "${SEED:-7}"
    fi
    bytes=$(stat -c %s "$log")
    lines=$(wc -l < "$log")
    cat "$log" > /dev/null
    runs=$repeat
    [ "$bytes" -lt $((1 << 30)) ] || runs=1
    declare -A secs=() rss=()
    read -r secs[rg] rss[rg] < <(measure "$log" "$runs" rg -c -f "$bench_dir/patterns.rg" "$log")
    read -r secs[talos-doctor] rss[talos-doctor] < <(measure "$log" "$runs" "$td" analyze --format json "$log")
    cp "$bench_dir/out" "$bench_dir/out.j0"
    read -r secs[td-j2] rss[td-j2] < <(measure "$log" "$runs" "$td" analyze -j 2 --format json "$log")
    cmp -s "$bench_dir/out" "$bench_dir/out.j0" || echo "$size: the -j 2 report DIFFERS from -j 0" >&2
    read -r secs[grep] rss[grep] < <(measure "$log" "$runs" grep -cE -f "$bench_dir/patterns.ere" "$log")
    for tool in talos-doctor td-j2 rg grep; do
        awk -v size="$size" -v tool="$tool" -v s="${secs[$tool]}" -v r="${rss[$tool]}" \
            -v b="$bytes" -v l="$lines" -v rg="${secs[rg]}" 'BEGIN {
                if (s <= 0) s = 0.001; if (rg <= 0) rg = 0.001;
                printf "%-6s %-12s %9.2f %10.1f %12.0f %9.1f %9.2f\n", size, tool, s, b / 1e6 / s, l / s, r / 1024, rg / s }'
    done
    unset secs rss
done

# Watch latency: from the line a container writes to the verdict talos-doctor prints.
echo
if [ "${NO_WATCH:-}" = 1 ]; then
    echo "watch latency: skipped (NO_WATCH=1)"
elif ! "$td" watch --help > /dev/null 2>&1; then
    echo "watch latency: skipped (talos-doctor has no watch command)"
elif ! docker image inspect talos-doctor-test/replay:latest > /dev/null 2>&1; then
    echo "watch latency: skipped (needs Docker and the replay image: tests/docker/build-image.sh)"
else
    name="td-bench-watch-$$"
    docker rm -f "$name" > /dev/null 2>&1 || true
    docker run -d --name "$name" -e LOG=fail -e DELAY=0.05 -e END=hang talos-doctor-test/replay:latest > /dev/null
    "$td" watch --plain --timeout 60s "$name" > "$bench_dir/watch.out" 2>&1 || true
    done_at=$(date +%s.%N)
    # Docker's own receive stamp of the line that decides the verdict.
    written=$(docker logs -t "$name" 2>&1 | grep -m1 'boot sequence: failed' | cut -d' ' -f1)
    docker rm -f "$name" > /dev/null 2>&1 || true
    if [ -n "$written" ]; then
        written_s=$(date -d "$written" +%s.%N)
        awk -v a="$written_s" -v b="$done_at" 'BEGIN { printf "watch latency: %.0f ms from `boot sequence: failed` written (docker stamp) to verdict printed\n", (b - a) * 1000 }'
    else
        echo "watch latency: the failing line was not seen (see $bench_dir/watch.out)"
    fi
fi

# The shared workload (../shared/bench/): the same binary against rg on the 256 MiB log.
echo
if [ "${SHARED:-1}" = 0 ] || [ ! -d "${SHARED_BENCH:-$root/../shared/bench}" ]; then
    echo "shared workload: skipped (SHARED=0 or no ../shared/bench)"
else
    bench/shared.sh "$td"
fi
