#!/usr/bin/env bash
# Rewrites the goldens of tests/harness/show_test.cc from the current model:
# the trace of `run --variant upstream` on scenarios/lifecycle/standard.json,
# shown in every format. Run from the repository's top after `bazel build
# //harness:xfsim`; review the diff before committing it.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
xfsim="$top/bazel-bin/harness/xfsim"
out="$top/tests/harness/testdata/show"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$top"
"$xfsim" run scenarios/lifecycle/standard.json --variant upstream --trace "$work/standard-upstream.trace.jsonl" >/dev/null
cd "$work"
# The goldens name the trace as the test does: standard-upstream.trace.jsonl.
"$xfsim" show standard-upstream.trace.jsonl --format text -o "$out/standard-upstream.txt"
"$xfsim" show standard-upstream.trace.jsonl --format mermaid -o "$out/standard-upstream.mmd"
"$xfsim" show standard-upstream.trace.jsonl --format html -o "$out/standard-upstream.html"
"$xfsim" show standard-upstream.trace.jsonl --format perfetto -o "$out/standard-upstream.perfetto.json"
