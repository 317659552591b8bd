#!/usr/bin/env bash
# The shared workload (../shared/bench/README.md): a 256 MiB log of service and controller
# noise with the required fixtures between, and ripgrep counting 30 failure patterns as the
# peer. Runs talos-doctor (single-threaded and with -j 2), rg, grep -E and wc -l
# alternating, RUNS times each (default 5), and prints medians, peak RSS, the ratios
# rg/talos-doctor and grep/talos-doctor, the -j 2 speed-up, and talos-doctor's throughput as
# a share of `wc -l` (the line-splitting floor). Then peak RSS of talos-doctor (-j 0 and
# -j 2) on the same log cut to RSS_SIZES (MiB, default "16 256 1024"; a size past the log
# repeats it), to show whether memory stays flat.
#
#   bench/shared.sh [BINARY]      (default: target/release/talos-doctor, built if missing)
#
# Benchmarks measure; nothing here asserts a time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
shared=${SHARED_BENCH:-$root/../shared/bench}
bench_dir=${BENCH_DIR:-/tmp/talos-doctor-bench}
runs=${RUNS:-5}
td=${1:-target/release/talos-doctor}
mkdir -p "$bench_dir"
[ -d "$shared" ] || { echo "no shared workload at $shared (set SHARED_BENCH)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time" >&2; exit 2; }
command -v rg >/dev/null || { echo "installing ripgrep" >&2; cargo install ripgrep --locked >&2; }
[ -x "$td" ] || cargo build --release --quiet
log="$bench_dir/td-256.log"
[ -s "$log" ] || python3 "$shared/genlog.py" 256 "$log"
cat "$log" > /dev/null
bytes=$(stat -L -c %s "$log")
# The same 30 patterns as POSIX ERE for grep -E (bench/patterns.py; they hold no inline flags).
python3 "$root/bench/patterns.py" "$shared/patterns.txt" "$bench_dir/shared.rg" "$bench_dir/shared.ere" 2> /dev/null

declare -A t=() m=()
one() { # name cmd...: appends "secs rss" of one run
    local name=$1
    shift
    /usr/bin/time -f "TIME %e %M" "$@" > "$bench_dir/out.$name" 2> "$bench_dir/err.$name" || true
    local line
    line=$(grep '^TIME' "$bench_dir/err.$name" | tail -1)
    t[$name]+="$(echo "$line" | awk '{print $2}') "
    m[$name]+="$(echo "$line" | awk '{print $3}') "
}
for _ in $(seq "$runs"); do
    one rg rg -c -f "$shared/patterns.txt" "$log"
    one td "$td" analyze --format json "$log"
    one td_j2 "$td" analyze -j 2 --format json "$log"
    # Not >/dev/null: GNU grep notices it and stops at the first match.
    one grep grep -cE -f "$bench_dir/shared.ere" "$log"
    one wc wc -l "$log"
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
maxof() { tr ' ' '\n' | grep . | sort -g | tail -1; }
echo "shared workload: $log ($((bytes >> 20)) MiB), $runs runs each, alternating"
printf '%-22s %9s %9s %10s\n' tool median_s MB/s peak_MiB
for k in td td_j2 rg grep wc; do
    s=$(echo "${t[$k]}" | median)
    r=$(echo "${m[$k]}" | maxof)
    awk -v k="$k" -v s="$s" -v r="$r" -v b="$bytes" 'BEGIN { if (s <= 0) s = 0.001; printf "%-22s %9.2f %9.1f %10.1f\n", k, s, b / 1e6 / s, r / 1024 }'
done
td_s=$(echo "${t[td]}" | median)
awk -v rg="$(echo "${t[rg]}" | median)" -v td="$td_s" -v j2="$(echo "${t[td_j2]}" | median)" \
    -v gr="$(echo "${t[grep]}" | median)" -v wc="$(echo "${t[wc]}" | median)" 'BEGIN {
    if (td <= 0) td = 0.001; if (j2 <= 0) j2 = 0.001;
    printf "ratio rg/talos-doctor: %.2f   grep/talos-doctor: %.2f   -j 2 speed-up: %.2fx   share of wc -l throughput: %.0f %% (-j 2: %.0f %%)\n", rg / td, gr / td, td / j2, 100 * wc / td, 100 * wc / j2 }'
cmp -s "$bench_dir/out.td" "$bench_dir/out.td_j2" && echo "-j 2 report: identical" || echo "-j 2 report: DIFFERS"

# Peak RSS against input size: the log cut to (or repeated up to) each size.
echo "peak RSS by input size (MiB):"
printf '%-8s %10s %10s\n' size_MiB "-j 0" "-j 2"
for mib in ${RSS_SIZES:-16 256 1024}; do
    cut_log="$bench_dir/td-shared-$mib.log"
    if [ ! -s "$cut_log" ]; then
        # Whole lines only: the cut ends at the last newline before the size.
        # (`while cat`: the loop ends when head has enough and cat's write fails.)
        { while cat "$log"; do :; done; } 2> /dev/null | head -c $((mib << 20)) | sed '$d' > "$cut_log" || true
    fi
    # Exit codes 1-3 are verdicts, not failures.
    r0=$({ /usr/bin/time -f "%M" "$td" analyze --format json "$cut_log" 2>&1 > /dev/null || true; } | tail -1)
    r2=$({ /usr/bin/time -f "%M" "$td" analyze -j 2 --format json "$cut_log" 2>&1 > /dev/null || true; } | tail -1)
    awk -v m="$mib" -v a="$r0" -v b="$r2" 'BEGIN { printf "%-8s %10.1f %10.1f\n", m, a / 1024, b / 1024 }'
done
