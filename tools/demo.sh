#!/usr/bin/env bash
# The README's first command (tools/dev demo) ends here: a real job on embedded defaults.
set -euo pipefail
BUILD=$1
echo "salvo demo: nothing to run yet (the store and send path land with issues 2-5)"
