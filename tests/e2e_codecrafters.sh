#!/bin/sh
# Runs the CodeCrafters harness emulation against $SERVER (default ./server)
# from the repository root; exits with its status. Extra arguments are passed
# on, e.g. --harness-only, --stage kh7, --seed 123, -v.
cd "$(dirname "$0")/.." || exit 1
SERVER="${SERVER:-./server}"
export SERVER
exec python3 tests/codecrafters.py "$@"
