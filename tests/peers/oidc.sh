#!/usr/bin/env bash
# OpenID provider for the OIDC tests: the npm package `oidc-provider` (OpenID-certified), installed
# under target/peers/oidc/ with the machine's Node (20 or later), plus our provider script.
# Prints `export` lines only; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=8.8.1
dir=target/peers/oidc
command -v node >/dev/null || { echo "oidc peer: node is missing (apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$dir"
installed=$(node -p "require('./$dir/node_modules/oidc-provider/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
  echo "oidc peer: installing oidc-provider@$version" >&2
  printf '{"name":"passerelle-oidc-peer","private":true,"type":"module"}\n' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "oidc-provider@$version" >&2)
fi
cp tests/peers/oidc/provider.mjs "$dir/provider.mjs"
# The script must sit next to node_modules so that `import 'oidc-provider'` resolves.
echo "export PASSERELLE_TEST_OIDC_PROVIDER=$(pwd)/$dir/provider.mjs"
echo "export PASSERELLE_TEST_NODE=$(command -v node)"
