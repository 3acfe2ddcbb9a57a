#!/bin/bash
# The manual renders without a warning and documents every flag --help lists.
cd "$(dirname "$0")/.." || exit 1
SERVER=${SERVER:-./server}
pass=0 fail=0
check() {
    if "${@:2}"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi
}
warnings=$(groff -ww -man -Tutf8 doc/server.1 2>&1 >/dev/null)
check "groff -ww renders doc/server.1 without warnings" [ -z "$warnings" ]
[ -n "$warnings" ] && echo "$warnings" | head -5
check "man -l opens it" bash -c 'MANPAGER=cat man -l doc/server.1 >/dev/null 2>&1'
flags=$("$SERVER" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
check "--help lists flags" [ "$(echo "$flags" | wc -l)" -gt 20 ]
for flag in $flags; do
    escaped=$(echo "$flag" | sed 's/-/\\\\-/g')
    check "the manual documents $flag" grep -q -- "$escaped" doc/server.1
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
