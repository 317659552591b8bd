#!/usr/bin/env bash
# Runs every fuzz target for SECS seconds each (default 240) with cargo-fuzz (nightly).
# Usage: fuzz/run.sh [SECS]   Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-240}
for t in envelope message pipeline; do
    mkdir -p "corpus/$t"
    cargo +nightly fuzz run -O "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 || echo "target $t stopped: $?"
done
