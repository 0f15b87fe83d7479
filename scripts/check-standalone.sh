#!/usr/bin/env bash
# Fails when any tracked file refers to a folder beside the repository
# (`../shared` or similar): a clone must be complete on its own
# (conformance/README.md). Part of the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
if git grep -nE '\.\./(\.\./)*shared\b' -- ':!scripts/check-standalone.sh'; then
    echo "check-standalone: the lines above read outside the repository" >&2
    exit 1
fi
