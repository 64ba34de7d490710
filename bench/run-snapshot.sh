#!/bin/sh
# Runs `npm run bench` on a snapshot of the committed tree (git archive HEAD)
# instead of the working tree: wrangler dev reloads the Worker whenever a file
# under workers/ changes, so on a working tree others are editing a long run
# measures reloads. Results go to this checkout's bench/results (or --out).
#   bench/run-snapshot.sh [bench arguments…]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
rev=$(git -C "$root" rev-parse --short HEAD)
snap=$(mktemp -d "${TMPDIR:-/tmp}/edge-hls-bench-snapshot-$rev-XXXXXX")
trap 'rm -rf "$snap"' EXIT INT TERM
git -C "$root" archive HEAD | tar -x -C "$snap"
ln -s "$root/node_modules" "$snap/node_modules"
cd "$snap"
BENCH_REVISION="$rev (snapshot of HEAD, git archive)" npm run bench -- --out "$root/bench/results" "$@"
