#!/usr/bin/env bash
# Full-size hostile inputs for issue #14 (the test suite runs them scaled down): builds the
# release binary, generates each input in a temp dir, runs it under GNU time and prints
# wall time, peak RSS and the exit code. 10k against 100k shows whether time is linear.
#
#   tools/hostile/full-size.sh            # everything (about 10 minutes on 2 vCPUs)
#   SKIP_BUILD=1 tools/hostile/full-size.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet
BIN=$PWD/target/release/talos-doctor
SEED=$PWD/fixtures/sharedfs-v1.8-docker-run/input.log
TMP=$(mktemp -d "${TMPDIR:-/tmp}/td-full-size.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
ROWS=()

# run NAME CMD...: one table row (time, peak RSS, exit code, last stderr line).
run() {
    local name=$1; shift
    local rc=0
    /usr/bin/time -f '%e s %M KiB' -o "$TMP/time" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    local t; t=$(tail -1 "$TMP/time")
    local note; note=$( (grep -v '^Command exited' "$TMP/err" || true) | tail -1 | cut -c1-70)
    ROWS+=("$(printf '| %-34s | %14s | %4s | %s |' "$name" "$t" "$rc" "$note")")
    echo "${ROWS[-1]}" >&2
}

line='[talos] 2024/11/20 09:14:03 task startSyslogd (1/1): done, 1ms'
make_dir() { # make_dir DIR N: N small logs, one of them the failing seed
    mkdir -p "$1"
    ( cd "$1" && seq -f 'n%06g.log' 1 "$2" | xargs -n 1000 sh -c 'for f; do echo "$0" > "$f"; done' "$line" )
    cp "$SEED" "$1/zz-failed.log"
}

for n in 10000 100000; do
    make_dir "$TMP/dir$n" "$n"
    run "directory of $n logs (ulimit -n 1024)" sh -c "ulimit -n 1024 && exec '$BIN' analyze --format json '$TMP/dir$n'"
done

for n in 10000 100000; do
    run "$n file arguments" sh -c "cd '$TMP/dir$n' && exec '$BIN' analyze --format json *.log"
done

python3 - "$TMP" "$SEED" <<'PY'
import sys, zipfile
tmp, seed = sys.argv[1], open(sys.argv[2], 'rb').read()
line = b'[talos] 2024/11/20 09:14:03 task startSyslogd (1/1): done, 1ms\n'
for n in (10000, 100000):
    with zipfile.ZipFile(f'{tmp}/entries{n}.zip', 'w', zipfile.ZIP_DEFLATED) as z:
        for i in range(n):
            z.writestr(f'logs/n{i:06d}.log', line)
        z.writestr('logs/zz-failed.log', seed)
# 16 entries inflating to 500 MB each, ~8 GB in all, a few MB on disk: zeros, and text
# (a line of 'a' with no newline, the worst case: every byte must be looked at).
for kind, byte in (('zeros', b'\0'), ('text', b'a')):
    with zipfile.ZipFile(f'{tmp}/bomb-{kind}.zip', 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('cp1.log', seed)
        block = byte * (1 << 20)
        for i in range(16):
            with z.open(f'bomb{i:02d}.log', 'w', force_zip64=True) as f:
                for _ in range(500):
                    f.write(block)
PY
for n in 10000 100000; do
    run "zip of $n entries" "$BIN" analyze --format json "$TMP/entries$n.zip"
done
for kind in zeros text; do
    size=$(du -k "$TMP/bomb-$kind.zip" | cut -f1)
    run "zip bomb, 16 x 500 MB $kind (${size} KiB)" "$BIN" analyze --format json "$TMP/bomb-$kind.zip"
done

run "/dev/zero (timeout 60)" timeout 60 "$BIN" analyze /dev/zero
run "--rules /dev/zero (timeout 60)" timeout 60 "$BIN" analyze --rules /dev/zero "$SEED"
run "seed + 1 GiB of NUL via pipe" sh -c "cat '$SEED' /dev/zero | head -c 1073741824 | '$BIN' analyze --format json"
head -c 1073741824 /dev/zero | tr '\0' 'a' > "$TMP/long.log"; cat "$SEED" >> "$TMP/long.log"
run "1 GiB line, then the seed" "$BIN" analyze --format json "$TMP/long.log"
rm -f "$TMP/long.log"

echo
echo "| input | time, peak RSS | exit | last stderr line |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
