#!/usr/bin/env bash
# Fails when a tracked file refers to a `shared` folder beside the
# repository (`../shared`, `../../shared`, ...): a clone must be complete on
# its own (conformance/README.md). No folder of the repository is named
# `shared`, so any such reference points outside it. Part of the README's
# test command.
set -euo pipefail
cd "$(dirname "$0")/.."
if git grep -nIE '\.\./(\.\./)*shared\b' -- ':!scripts/check-standalone.sh'; then
    echo "check-standalone: the lines above refer to a folder outside the repository" >&2
    exit 1
fi
