#!/usr/bin/env bash
# The README's first command (tools/dev demo) ends here: a real job on embedded defaults.
# Today: a temporary config and data dir, 100 k generated opt-in recipients imported into a list,
# the lists shown, one address suppressed and checked. (Grows into a broadcast to the built-in
# sink when the send path lands.)
set -euo pipefail
BUILD=${1:?usage: tools/demo.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
SALVO=$BUILD/tools/salvo
GEN=$BUILD/perf/gen_recipients
COUNT=${DEMO_RECIPIENTS:-100000}

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/salvo-demo.XXXXXX")
echo "salvo demo in $DEMO"

# 1. A config with embedded defaults: only the store location.
cat > "$DEMO/salvo.toml" <<'TOML'
data_dir = "data"
TOML
echo "== wrote $DEMO/salvo.toml (data_dir = $DEMO/data)"

# 2. Synthetic recipients: every 50th has no consent record.
"$GEN" --count "$COUNT" --no-consent-every 50 --domains example.test,example.org > "$DEMO/recipients.csv"
echo "== generated $COUNT recipients: $DEMO/recipients.csv"
head -3 "$DEMO/recipients.csv" | sed 's/^/   /'

# 3. Import them into the list "newsletter", then once more (idempotent: all unchanged).
echo "== salvo import --list newsletter recipients.csv"
"$SALVO" import -c "$DEMO/salvo.toml" --list newsletter "$DEMO/recipients.csv" \
  --rejects "$DEMO/rejects.csv"
echo "== again (nothing changes):"
"$SALVO" import -c "$DEMO/salvo.toml" --list newsletter "$DEMO/recipients.csv" --json

# 4. Lists with member counts.
echo "== salvo lists"
"$SALVO" lists -c "$DEMO/salvo.toml"

# 5. Global suppression: one address and one whole domain.
FIRST=$(sed -n 2p "$DEMO/recipients.csv" | cut -d, -f1)
echo "== salvo suppress add $FIRST @example.org --reason manual"
"$SALVO" suppress add -c "$DEMO/salvo.toml" "$FIRST" @example.org --reason manual
"$SALVO" suppress check -c "$DEMO/salvo.toml" "$FIRST"
"$SALVO" suppress list -c "$DEMO/salvo.toml"

echo "== done: config, data and files are in $DEMO (remove it when finished)"
