#!/usr/bin/env bash
# Regenerate params.golden.jsonl from real Go encoding/json (Debian's golang-go).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/gen"
GOFLAGS=-mod=mod GOPROXY=off go run . > "$here/params.golden.jsonl"
wc -l "$here/params.golden.jsonl"
