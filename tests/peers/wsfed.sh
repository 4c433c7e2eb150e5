#!/usr/bin/env bash
# WS-Federation STS for the WS-Fed tests: the npm package `wsfed` (auth0's node-wsfed, Express
# middleware issuing signed SAML tokens) with Express, installed under target/peers/wsfed/ with the
# machine's Node, plus our STS script. Prints `export` lines only; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=target/peers/wsfed
command -v node >/dev/null || { echo "wsfed peer: node is missing (apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$dir"
# wsfed 6.0.0 requires `xtend` without declaring it; pin it alongside.
packages=(wsfed@6.0.0 express@4.21.2 xtend@4.0.2)
installed=$(node -p "require('./$dir/node_modules/wsfed/package.json').version + ' ' + require('./$dir/node_modules/express/package.json').version" 2>/dev/null || true)
if [ "$installed" != "6.0.0 4.21.2" ]; then
  echo "wsfed peer: installing ${packages[*]}" >&2
  printf '{"name":"passerelle-wsfed-peer","private":true}\n' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "${packages[@]}" >&2)
fi
cp tests/peers/wsfed/sts.js "$dir/sts.js"
# The script must sit next to node_modules so that `require('wsfed')` resolves.
(cd "$dir" && node -e "require('wsfed'); require('express'); require('saml')") \
  || { echo "wsfed peer: the installed packages do not load" >&2; exit 1; }
echo "export PASSERELLE_TEST_WSFED_STS=$(pwd)/$dir/sts.js"
echo "export PASSERELLE_TEST_NODE=$(command -v node)"
