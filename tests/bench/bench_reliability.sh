#!/usr/bin/env bash
# The long form of the reliability suite (tests/cli/test_reliability.sh): every fault scenario
# once, and 120 leader failover trials per replica count (2 and 3 replicas with one HOSTNAME;
# kill -9, SIGTERM and SIGSTOP past the lease in turn), 240 in all. Prints the suite's one-line
# figures per scenario as a table; asserts what the suite asserts (zero wrong writes, no write
# outside a Lease term, no foreign-writer verdict, bounded requests). About 12 minutes.
#
#   bash tests/bench/bench_reliability.sh [build] [TRIALS=120]
set -u
BUILD=${1:-build}
export RELIABILITY_TRIALS=${2:-120}
here=$(cd "$(dirname "$0")" && pwd)
out=$(bash "$here/../cli/test_reliability.sh" "$BUILD/propscaler" "$BUILD/propsim" 2>&1)
rc=$?
printf '%-18s %s\n' scenario result
awk '/^== / { s = $2; next } /^  / { sub(/^  /, ""); printf "%-18s %s\n", s, $0 } /^FAIL/ { print }' <<<"$out"
tail -1 <<<"$out"
exit $rc
