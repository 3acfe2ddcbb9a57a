#!/bin/bash
# Hostile clients: slowloris, silent and never-reading clients, floods, EMFILE.
cd "$(dirname "$0")/.." || exit 1
exec python3 tests/e2e_hostile.py
