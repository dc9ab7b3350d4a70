#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Regenerate the seed corpus of fuzz_parse from the crafted frames of
# tests/unit/test_parse.c (one source of truth for tests and seeds).
# Seeds are overwritten in place; other files in the corpus (regression
# inputs added by hand after a fuzzer finding) are left alone.
#
# usage: fuzz/make_corpus.sh        (from anywhere in the tree)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/fuzz/corpus/parse"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

${CC:-cc} -std=gnu11 -D_GNU_SOURCE -O1 -I"$top/src/parse" \
    "$top/src/parse/parse.c" "$top/src/parse/cidr.c" "$top/tests/unit/test_parse.c" \
    -o "$tmp/test_parse"
mkdir -p "$out"
"$tmp/test_parse" --write-corpus "$out"
echo "$(find "$out" -type f | wc -l) files in $out"
