#!/bin/bash
# End-to-end tests of the core server (routes, framing, limits, concurrency).
cd "$(dirname "$0")/.." || exit 1
exec python3 tests/e2e_core.py
