# lib_check.sh - result counting for the bash end-to-end suites (sourced).
#
# Gives ok/bad/check/eq, which count into PASSED and FAILED and print one
# line per check, and report, which prints "N passed, M failed" and returns
# non-zero when anything failed (end a suite with it).

PASSED=0
FAILED=0

ok() {
    PASSED=$((PASSED + 1))
    echo "ok   $1"
}

# bad NAME [DETAIL]
bad() {
    FAILED=$((FAILED + 1))
    echo "FAIL $1"
    [ -n "${2:-}" ] && echo "     $2"
    return 0
}

# check NAME COMMAND...: passes when the command succeeds; its output is
# shown only on failure.
check() {
    local name=$1
    shift
    local out
    if out=$("$@" 2>&1); then
        ok "$name"
    else
        bad "$name" "$out"
    fi
}

# eq NAME GOT WANT
eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi
}

report() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
