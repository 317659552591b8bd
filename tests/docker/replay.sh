#!/bin/sh
# Replays a Talos container log to stderr, as `docker logs` of a real node shows it.
# Runs as the entrypoint of the test image built by build-image.sh (busybox only).
#   LOG=fail|success|stall|crash|jump   log in /logs to replay (default fail); none: no output
#   PREFIX='192.168.77.151: '       written before every line (a talosctl node prefix)
#   DELAY=0.02                      seconds between lines
#   END=hang|exit:N                 after the log: keep running, or exit with N (default hang)
#   FAIL_RUNS=N                     the first N runs of this container replay /logs/crash.log
#                                   and exit 1 (a restart loop that recovers), later runs LOG
runs=$(cat /runs 2>/dev/null || echo 0)
runs=$((runs + 1))
echo "$runs" > /runs 2>/dev/null
log=${LOG:-fail}
end=${END:-hang}
if [ "$runs" -le "${FAIL_RUNS:-0}" ]; then
  log=crash
  end=exit:1
fi
if [ "$log" != none ]; then
  while IFS= read -r line; do
    printf '%s%s\n' "${PREFIX:-}" "$line" >&2
    sleep "${DELAY:-0.02}"
  done < "/logs/$log.log"
fi
case "$end" in
  exit:*) exit "${end#exit:}" ;;
  *) while :; do sleep 3600; done ;;
esac
