#!/bin/sh
# The REST figures of issue 4 against a running `scrub serve` (wrk from Debian's package):
#   1. GET /healthz                         wrk -t2 -c32 -d10s
#   2. POST complianceStatuses (check.lua)  wrk -t2 -c32 -d10s   (every check allowed, so each
#                                            one reserves and commits an active record)
#   3. POST contactAttempts (attempt.lua)   wrk -t1 -c2 -d10s while check.lua runs on
#                                            wrk -t1 -c30 (the attempt's p99 under check load)
# Usage: bench/rest/run.sh [BASE_URL] [ORG]   (token from SCRUB_TOKEN, default secret-a)
set -eu
BASE=${1:-http://127.0.0.1:8080}
ORG=${2:-acme}
HERE=$(dirname "$0")
API="$BASE/via/v4/organizations/$ORG/compliance"
summary() { grep -E "Requests/sec| 50%| 99%|Non-2xx|Socket errors" | sed 's/^ */    /'; }
echo "healthz:"; wrk -t2 -c32 -d10s --latency "$BASE/healthz" | summary
echo "complianceStatuses:"; wrk -t2 -c32 -d10s --latency -s "$HERE/check.lua" "$API/complianceStatuses" | summary
echo "contactAttempts while checks run:"
wrk -t1 -c30 -d12s -s "$HERE/check.lua" "$API/complianceStatuses" > /tmp/scrub-bench-checks.$$ &
sleep 1
wrk -t1 -c2 -d10s --latency -s "$HERE/attempt.lua" "$API/contactAttempts" | summary
wait
echo "  (checks meanwhile:)"; summary < /tmp/scrub-bench-checks.$$; rm -f /tmp/scrub-bench-checks.$$
