#!/usr/bin/env bash
# Fails when a tracked file refers to a path outside the repository (such
# as a `shared/` folder beside the checkout): a clone must be complete on
# its own (conformance/README.md). Each relative path that names a
# `shared` folder is resolved from the referring file's folder; it passes
# only when it names a folder that exists inside the repository (such as
# web/shared/).
# Part of the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
git grep -nIoE '(\.\./)+shared\b' -- ':!scripts/check-standalone.sh' | python3 -c '
import os, sys
root = os.getcwd()
bad = []
for line in sys.stdin:
    path, lineno, ref = line.rstrip("\n").split(":", 2)
    target = os.path.normpath(os.path.join(root, os.path.dirname(path), ref))
    if not (target.startswith(root + os.sep) and os.path.isdir(target)):
        bad.append(f"{path}:{lineno}: {ref}")
for b in bad:
    print(b)
if bad:
    print("check-standalone: the references above point outside the repository", file=sys.stderr)
    sys.exit(1)
'
