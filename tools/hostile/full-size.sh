#!/usr/bin/env bash
# Full-size hostile inputs for issue #14 (the test suite runs them scaled down): builds the
# release binary, generates each input in a temp dir, runs it under GNU time and prints
# wall time, peak RSS and the exit code. 10k against 100k shows whether time is linear.
#
#   tools/hostile/full-size.sh            # everything (about 12 minutes on 2 vCPUs)
#   SKIP_BUILD=1 tools/hostile/full-size.sh
#   ONLY=lines SKIP_BUILD=1 tools/hostile/full-size.sh   # only blank and tiny lines
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

# Blank and tiny lines (64 MiB and a tenth of it, to show time is linear), then the failed
# seed: every line is counted and the failure still found.
tiny() { # tiny NAME MIB PYTHON-BYTES-EXPRESSION: MIB MiB of that pattern, then the seed
    python3 - "$TMP/tiny.log" "$2" "$3" <<'PY'
import sys
path, mib, pat = sys.argv[1], float(sys.argv[2]), eval(sys.argv[3])
n = int(mib * (1 << 20)) // len(pat)
with open(path, 'wb') as f:
    block = pat * (1 << 16)
    for _ in range(n >> 16):
        f.write(block)
    f.write(pat * (n & 0xffff))
PY
    cat "$SEED" >> "$TMP/tiny.log"
    run "$2 MiB of $1, then the seed" "$BIN" analyze --format json "$TMP/tiny.log"
    rm -f "$TMP/tiny.log"
}
for mib in 6.4 64; do
    tiny 'empty lines' $mib "b'\\n'"
    tiny 'lone CR' $mib "b'\\r'"
    tiny 'CRLF' $mib "b'\\r\\n'"
    tiny 'lines of 3 spaces' $mib "b'   \\n'"
    tiny 'NUL bytes' $mib "b'\\0'"
    tiny '1-char lines' $mib "b'a\\n'"
    tiny 'one short line' $mib "b'a b c\\n'"
done
if [ "${ONLY:-}" = lines ]; then
    echo
    echo "| input | time, peak RSS | exit | last stderr line |"
    echo "|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    exit 0
fi

line='[talos] 2024/11/20 09:14:03 task startSyslogd (1/1): done, 1ms'
make_dir() { # make_dir DIR N: N small logs, one of them the failing seed
    mkdir -p "$1"
    ( cd "$1" && seq -f 'n%06g.log' 1 "$2" | xargs -n 1000 sh -c 'for f; do echo "$0" > "$f"; done' "$line" )
    cp "$SEED" "$1/zz-failed.log"
}

for n in 10000 100000; do
    make_dir "$TMP/dir$n" "$n"
    run "dir of $n logs, a node each (ulimit -n 1024)" sh -c "ulimit -n 1024 && exec '$BIN' analyze --format json '$TMP/dir$n'"
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

# A text zip bomb: a first entry of 5 GiB of one repeated line (~16 MB on disk) before the
# real log; then the same zip through a pipe (spooled to a temp file), and a gzip bomb file.
python3 - "$TMP" "$SEED" <<'PY'
import sys, zipfile
tmp, seed = sys.argv[1], open(sys.argv[2], 'rb').read()
block = b'hello world this is one repeated line\n' * (1 << 15)
with zipfile.ZipFile(f'{tmp}/textbomb.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    with z.open('aaa-bomb.log', 'w', force_zip64=True) as f:
        for _ in range((5 << 30) // len(block)):
            f.write(block)
    z.writestr('zz-real.log', seed)
PY
size=$(du -k "$TMP/textbomb.zip" | cut -f1)
run "text zip bomb, 5 GiB first (${size} KiB)" "$BIN" analyze --format json "$TMP/textbomb.zip"
run "the same, through a pipe" sh -c "cat '$TMP/textbomb.zip' | exec '$BIN' analyze --format json"
run "zip of 100000 entries, through a pipe" sh -c "cat '$TMP/entries100000.zip' | exec '$BIN' analyze --format json"
( cat "$SEED"; head -c 2147483648 < <(yes 'hello world this is one repeated line') ) | gzip -1 > "$TMP/bomb.log.gz"
size=$(du -k "$TMP/bomb.log.gz" | cut -f1)
run "gzip bomb, 2 GiB of text (${size} KiB)" "$BIN" analyze --format json "$TMP/bomb.log.gz"
rm -f "$TMP/textbomb.zip" "$TMP/bomb.log.gz"

# DOCKER_HOST at a server whose answer (inspect) or log stream (one endless line, or a frame
# that says it is 4 GiB) never ends.
cat > "$TMP/engine.py" <<'PY'
import socket, sys, threading
mode = sys.argv[1]
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(16)
print(srv.getsockname()[1], flush=True)
def small(body):
    return b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body)
def serve(c):
    head = b''
    while b'\r\n\r\n' not in head:
        d = c.recv(4096)
        if not d: return
        head += d
    path = head.split(b' ')[1].split(b'?')[0]
    fill = {'inspect': b' ', 'line': b'a', 'frame': b'\x01\0\0\0\xff\xff\xff\xff'}[mode]
    endless = path.endswith(b'/containers/x/json') if mode == 'inspect' else path.endswith(b'/logs')
    try:
        if endless:
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')
            data = (fill * 65536)[:65536]
            chunk = b'%x\r\n%s\r\n' % (len(data), data)
            while True: c.sendall(chunk)
        elif path.endswith(b'/version'):
            c.sendall(small(b'{"Version":"20.10.0","ApiVersion":"1.41","MinAPIVersion":"1.12"}'))
        elif path.endswith(b'/containers/x/json'):
            c.sendall(small(b'{"Id":"abc123","Name":"/x","State":{"Status":"exited"}}'))
        else:
            c.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}')
    except OSError:
        pass
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
for mode in inspect line frame; do
    python3 "$TMP/engine.py" "$mode" > "$TMP/port" & engine=$!
    while [ ! -s "$TMP/port" ]; do sleep 0.1; done
    run "DOCKER_HOST endless body ($mode)" env DOCKER_HOST="tcp://127.0.0.1:$(cat "$TMP/port")" timeout 120 "$BIN" analyze --container x
    kill "$engine"; wait "$engine" 2>/dev/null || true; rm -f "$TMP/port"
done

# Rules files of 1k and 10k rules without literals, each large compiled (Unicode \w, \d):
# refused at the cap they hit (rules/SCHEMA.md "Limits"), in one line naming the rule.
python3 - "$TMP" <<'PY'
import sys
for n in (1000, 10000):
    with open(f'{sys.argv[1]}/rules{n}.toml', 'w') as f:
        for i in range(n):
            f.write(f'[[rule]]\nid = "H-{i:05d}"\ncategory = "network_dns"\nseverity = "error"\n'
                    f'title = "t"\nmatch = \'\\d+\\s\\w+\\s\\d{{{i % 32 + 1}}}\\s\\d{{{i // 32 % 32 + 1}}}\'\n'
                    f'root_cause = "r"\nremediation = ["a"]\n\n')
PY
for n in 1000 10000; do
    run "--rules: $n rules without literals" timeout 600 "$BIN" analyze --rules "$TMP/rules$n.toml" "$SEED"
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
