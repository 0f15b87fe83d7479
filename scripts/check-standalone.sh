#!/usr/bin/env bash
# Fails when a tracked file refers to a `shared` folder beside the
# repository (one or more `../` then `shared`): a clone must be complete on
# its own (conformance/README.md). No folder of the repository is named
# `shared`, so any such reference points outside it. Part of the README's
# test command.
set -euo pipefail
cd "$(dirname "$0")/.."
# The pattern is assembled so that this file names no such path itself.
up='\.\./'
if git grep -nIE "${up}(${up})*shared\b"; then
    echo "check-standalone: the lines above refer to a folder outside the repository" >&2
    exit 1
fi
