#!/bin/sh
# CPU cost per request, of the server and of wrk, for GET /healthz and for the checks of
# check.lua, against a running `scrub serve` on this machine. Throughput under wrk on a
# shared machine is bounded by the sum of both costs; this script shows where it goes.
#
# Usage: bench/rest/cpu.sh SERVER_PID [BASE_URL] [ORG]   (token from SCRUB_TOKEN, default secret-a)
# Prints, per workload: requests/s, then wrk's and the server's CPU (user + system)
# in microseconds per request, the server's split into user and system.
set -eu
PID=$1
BASE=${2:-http://127.0.0.1:8080}
ORG=${3:-acme}
HERE=$(dirname "$0")
API="$BASE/via/v4/organizations/$ORG/compliance"
TICK=$(getconf CLK_TCK)
OUT=$(mktemp)
ERR=$(mktemp)
trap 'rm -f "$OUT" "$ERR"' EXIT
# utime and stime of the server (fields 14 and 15 of /proc/PID/stat; the name in field 2
# has no spaces for scrub)
cpu() { awk '{print $14, $15}' "/proc/$PID/stat"; }
measure() {
  name=$1
  shift
  set -- $(cpu) "$@"
  u0=$1 s0=$2
  shift 2
  /usr/bin/time -f "%U %S" wrk -t2 -c32 -d10s "$@" > "$OUT" 2> "$ERR"
  set -- $(cpu)
  awk -v name="$name" -v u0="$u0" -v s0="$s0" -v u1="$1" -v s1="$2" -v tick="$TICK" \
      -v wrk="$(tail -1 "$ERR")" '
    / requests in / { n = $1 }
    /Requests\/sec/ { rps = $2 }
    END {
      split(wrk, w, " ")
      su = (u1 - u0) / tick; ss = (s1 - s0) / tick
      printf "%-8s %9.0f req/s   wrk %5.1f us/req   server %5.1f us/req (user %.1f, system %.1f)\n",
        name, rps, (w[1] + w[2]) / n * 1e6, (su + ss) / n * 1e6, su / n * 1e6, ss / n * 1e6
    }' "$OUT"
}
measure healthz "$BASE/healthz"
measure checks -s "$HERE/check.lua" "$API/complianceStatuses"
