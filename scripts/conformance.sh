#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance)
# against the release binary serving the sandbox over streamable HTTP.
#
#   scripts/conformance.sh                 # the four scenarios below
#   scripts/conformance.sh tools-call      # other scenarios by name
#
# Installs pinned versions of the suite and of Node.js 22 (the suite needs
# Node >= 22; the official Node binary is published on the npm registry as
# package `node`) into .conformance/ (gitignored). Needs npm and cargo.
# The server runs with --auth none on loopback: the suite's server scenarios
# send no credentials (caller authentication is covered by tests/http.rs).
set -euo pipefail

CONFORMANCE_VERSION="${CONFORMANCE_VERSION:-0.1.16}"
NODE_VERSION="${NODE_VERSION:-22.23.3}"
SCENARIOS=("$@")
if [ ${#SCENARIOS[@]} -eq 0 ]; then
  SCENARIOS=(server-initialize ping tools-list dns-rebinding-protection)
fi

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/.conformance"
STAMP="$DIR/installed-$CONFORMANCE_VERSION-node-$NODE_VERSION"
mkdir -p "$DIR"

if [ ! -f "$STAMP" ]; then
  echo "installing @modelcontextprotocol/conformance@$CONFORMANCE_VERSION and node@$NODE_VERSION into $DIR" >&2
  [ -f "$DIR/package.json" ] || echo '{"name":"ks-devops-mcp-conformance","private":true}' > "$DIR/package.json"
  npm install --prefix "$DIR" --no-audit --no-fund --save-exact \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" "node@$NODE_VERSION" >&2
fi

NODE="$DIR/node_modules/.bin/node"
if ! "$NODE" --version 2>/dev/null | grep -qx "v$NODE_VERSION"; then
  # The `node` package fetches its platform binary in a preinstall script;
  # when scripts are not allowed, install the platform package directly.
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) PLATFORM=linux-x64 ;;
    Linux-aarch64) PLATFORM=linux-arm64 ;;
    Darwin-arm64) PLATFORM=darwin-arm64 ;;
    Darwin-x86_64) PLATFORM=darwin-x64 ;;
    *) echo "no Node.js package known for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
  esac
  npm install --prefix "$DIR" --no-audit --no-fund --save-exact "node-$PLATFORM@$NODE_VERSION" >&2
  NODE="$DIR/node_modules/node-$PLATFORM/bin/node"
fi
"$NODE" --version | grep -qx "v$NODE_VERSION" || { echo "Node.js $NODE_VERSION is not usable at $NODE" >&2; exit 1; }
touch "$STAMP"
SUITE="$DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"

BIN="${KS_DEVOPS_MCP_BIN:-$ROOT/target/release/ks-devops-mcp}"
if [ -z "${KS_DEVOPS_MCP_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --locked --bin ks-devops-mcp >&2)
fi

LOG="$DIR/server.log"
env -u RUST_LOG "$BIN" --sandbox --http 127.0.0.1:0 --auth none --log info 2>"$LOG" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 1 100); do
  URL="$(grep -o 'serving MCP on http://[0-9.:]*/mcp' "$LOG" | head -1 | sed 's/serving MCP on //')" || true
  [ -n "$URL" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "the server did not start; log:" >&2; cat "$LOG" >&2; exit 1; }
echo "server: $URL (pid $PID); suite $CONFORMANCE_VERSION on Node $("$NODE" --version)" >&2

FAILED=()
for s in "${SCENARIOS[@]}"; do
  echo "== $s" >&2
  if ! "$NODE" "$SUITE" server --url "$URL" --scenario "$s" -o "$DIR/results"; then
    FAILED+=("$s")
  fi
done
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "FAILED: ${FAILED[*]}" >&2
  exit 1
fi
echo "all passed: ${SCENARIOS[*]}" >&2
