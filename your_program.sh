#!/bin/sh
# Starts the server from the repository root, as the CodeCrafters harness
# expects (it runs ./your_program.sh [--directory <dir>/] and connects to
# port 4221). The server is rebuilt first only when it is missing or older
# than a source file, so a normal start is immediate.
set -e
cd "$(dirname "$0")"

stale() {
    [ ! -x ./server ] && return 0
    [ -n "$(find Makefile server.c http handlers -newer ./server \
        \( -name Makefile -o -name '*.c' -o -name '*.h' \) 2>/dev/null | head -n 1)" ]
}

if stale; then
    make -s server >&2
fi

exec ./server "$@"
