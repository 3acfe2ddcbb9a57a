#!/usr/bin/env bash
# gzip_bench.sh - compare our gzip encoder with gzip(1) and python3's zlib.
#
# Builds bench/gzip_bench.c at -O2 against http/crc32.c, http/deflate.c and
# http/gzip.c, gathers a corpus of typical HTTP payloads into a temporary
# directory (HTML, CSS, JS, JSON, a log, plain text from files installed on
# this machine, read at run time; a deterministic synthetic sample stands in
# for any kind not found; plus 1 MiB of incompressible bytes), prints the
# table (zlib is timed through python3 when present) and checks that gzip -dc
# restores every member we produced.
#
#   bash bench/gzip_bench.sh            BENCH_RUNS=N (default 7) sets the runs
#   CORPUS_DIR=dir bash bench/gzip_bench.sh   benchmark the files in dir instead
set -eu

cd "$(dirname "$0")/.."
CC=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/gzip_bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
corpus=$work/corpus
out=$work/out
mkdir -p "$corpus" "$out"

$CC -O2 -std=c11 -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -D_GNU_SOURCE -Ihttp \
    -o "$work/gzip_bench" bench/gzip_bench.c http/crc32.c http/deflate.c http/gzip.c -pthread
bench=$work/gzip_bench

MAX=$((2 * 1024 * 1024)) # cap each sample so a run stays short
MIN=$((32 * 1024))

# first_file MIN_BYTES CANDIDATE... : prints the first regular, readable file
# of at least MIN_BYTES.
first_file() {
    local min=$1 f
    shift
    for f in "$@"; do
        if [ -f "$f" ] && [ -r "$f" ] && [ "$(wc -c < "$f")" -ge "$min" ]; then
            printf '%s\n' "$f"
            return 0
        fi
    done
    return 1
}

# sample KIND NAME CANDIDATE... : copies the first good candidate (at most MAX
# bytes) to corpus/NAME, or generates one.
sample() {
    local kind=$1 name=$2 src
    shift 2
    if src=$(first_file "$MIN" "$@"); then
        head -c "$MAX" "$src" > "$corpus/$name"
        echo "  $name: $src"
    else
        "$bench" --gen "$kind" "$corpus/$name" $((512 * 1024))
        echo "  $name: synthetic ($kind)"
    fi
}

find_some() { # find_some DIR NAME-GLOB MIN-SIZE-KiB
    find "$1" -xdev -type f -name "$2" -size +"$3"k 2>/dev/null | sort | head -n 3
}

if [ -n "${CORPUS_DIR:-}" ]; then
    cp "$CORPUS_DIR"/* "$corpus"/
else
    echo "corpus:"
    # shellcheck disable=SC2046
    sample html html.html /usr/share/doc/nodejs/api/fs.html \
        $(find_some /usr/share/doc '*.html' 100)
    # shellcheck disable=SC2046
    sample css css.css /usr/share/sphinx_rtd_theme/static/css/theme.css \
        /usr/share/fonts-font-awesome/css/font-awesome.css $(find_some /usr/share '*.css' 32)
    # shellcheck disable=SC2046
    sample js js.js /usr/share/javascript/jquery/jquery.js \
        $(find_some /usr/share/javascript '*.js' 100) $(find_some /usr/lib/node_modules '*.js' 100)
    json_src=
    if [ -r /usr/share/doc/nodejs/api/all.json.gz ]; then
        gzip -dc /usr/share/doc/nodejs/api/all.json.gz | head -c "$MAX" > "$work/all.json" || true
        json_src=$work/all.json
    fi
    # shellcheck disable=SC2046
    sample json json.json ${json_src:+"$json_src"} $(find_some /usr/share '*.json' 100) \
        $(find_some /usr/lib '*.json' 100)
    sample log log.log /var/log/dpkg.log /var/log/apt/history.log /var/log/alternatives.log
    if ls /usr/share/common-licenses/* > /dev/null 2>&1; then
        cat /usr/share/common-licenses/* > "$work/licenses.txt" 2>/dev/null || true
    fi
    sample text text.txt "$work/licenses.txt" /usr/share/dict/words
    "$bench" --gen random "$corpus/random.bin" $((1024 * 1024))
    echo "  random.bin: synthetic (incompressible, 1 MiB)"
fi

echo
"$bench" --out "$out" "$corpus"/*

# Every member we wrote must decode to its input.
bad=0
n=0
for f in "$corpus"/*; do
    for level in 1 6 9; do
        n=$((n + 1))
        gzip -dc "$out/$(basename "$f").$level.gz" | cmp -s - "$f" || {
            echo "MISMATCH: $f level $level"
            bad=1
        }
    done
done
echo
echo "verified: $n members decoded by gzip -dc, $([ $bad = 0 ] && echo all identical || echo FAILURES)"
exit $bad
