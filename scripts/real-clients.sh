#!/usr/bin/env bash
# Proves ks-devops-mcp with real MCP clients: the official Python SDK, the MCP
# Inspector CLI and Claude Code, all pinned, against the release binary with
# --sandbox. Needs only Rust, Python 3 (with venv) and Node/npm on the machine:
# everything else (a virtualenv, Node 22 from the npm registry, the npm
# clients) is set up in a cache directory, .clients/ by default (gitignored),
# and reused while the pins are unchanged.
#
#   scripts/real-clients.sh                     # build, set up, run every check
#   scripts/real-clients.sh --only python       # python, inspector, claude (comma list)
#   KS_MCP_BINARY=path scripts/real-clients.sh  # use this binary, skip the build
#   KS_CLIENTS_CACHE=dir                        # cache somewhere else
#
# The checks live in scripts/real_clients.py; example arguments for every
# read-only tool come from the binary (`tools --examples`); the pins in scripts/clients/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

NODE_VERSION=22.23.3 # the official Node binary, as published on the npm registry (package `node`)
PINS="$ROOT/scripts/clients"
CACHE="${KS_CLIENTS_CACHE:-$ROOT/.clients}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"
export PIP_CACHE_DIR="$CACHE/pip-cache" npm_config_cache="$CACHE/npm-cache"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

say() { echo "== $*"; }
die() { echo "real-clients: $*" >&2; exit 1; }
digest() { cat "$@" | sha256sum | cut -d' ' -f1; }

for tool in python3 npm; do
  command -v "$tool" >/dev/null || die "$tool is required on PATH"
done

# 1. The release binary.
if [[ -n "${KS_MCP_BINARY:-}" ]]; then
  BINARY="$KS_MCP_BINARY"
else
  say "cargo build --release"
  cargo build --release --locked --quiet
  BINARY="$ROOT/target/release/ks-devops-mcp"
fi
[[ -x "$BINARY" ]] || die "no executable at $BINARY"

# 2. The Python SDK in a virtualenv.
want="$(digest "$PINS/requirements.txt")-$(python3 -c 'import sys; print(sys.version.split()[0])')"
if [[ "$(cat "$CACHE/venv/.pins" 2>/dev/null)" != "$want" ]]; then
  say "virtualenv with the pinned MCP Python SDK"
  rm -rf "$CACHE/venv"
  python3 -m venv "$CACHE/venv" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  "$CACHE/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$PINS/requirements.txt"
  echo "$want" >"$CACHE/venv/.pins"
fi

# 3. Node 22 (the Inspector wants Node >= 22.19; the machine may have older).
NODE="$CACHE/node22/node_modules/.bin/node"
if [[ "$("$NODE" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
  say "Node $NODE_VERSION from the npm registry"
  rm -rf "$CACHE/node22"
  mkdir -p "$CACHE/node22"
  npm install --prefix "$CACHE/node22" --no-save --no-package-lock --loglevel=error "node@$NODE_VERSION" >/dev/null
  [[ "$("$NODE" --version 2>/dev/null)" == "v$NODE_VERSION" ]] ||
    die "npm installed no working Node $NODE_VERSION at $NODE (its preinstall script fetches node-<os>-<arch>)"
fi
export PATH="$CACHE/node22/node_modules/.bin:$PATH"

# 4. The MCP Inspector and Claude Code, exactly as locked.
want="$(digest "$PINS/package.json" "$PINS/package-lock.json")-$NODE_VERSION"
if [[ "$(cat "$CACHE/npm/.pins" 2>/dev/null)" != "$want" ]]; then
  say "MCP Inspector and Claude Code (npm ci)"
  rm -rf "$CACHE/npm"
  mkdir -p "$CACHE/npm"
  cp "$PINS/package.json" "$PINS/package-lock.json" "$CACHE/npm/"
  (cd "$CACHE/npm" && npm ci --loglevel=error --no-audit >/dev/null)
  echo "$want" >"$CACHE/npm/.pins"
fi
"$CACHE/npm/node_modules/.bin/claude" --version >/dev/null 2>&1 ||
  die "Claude Code does not run from $CACHE/npm (its postinstall links the native binary; were install scripts blocked?)"
"$CACHE/npm/node_modules/.bin/mcp-inspector" --version >/dev/null 2>&1 ||
  die "the MCP Inspector does not run from $CACHE/npm"

say "checks with $("$CACHE/venv/bin/python" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"))'), Inspector $("$CACHE/npm/node_modules/.bin/mcp-inspector" --version), Claude Code $("$CACHE/npm/node_modules/.bin/claude" --version | cut -d' ' -f1), Node $("$NODE" --version)"
exec "$CACHE/venv/bin/python" "$ROOT/scripts/real_clients.py" --binary "$BINARY" --tools "$CACHE" "$@"
