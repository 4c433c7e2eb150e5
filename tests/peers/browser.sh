#!/usr/bin/env bash
# A real headless browser for the admin web page test: Debian's `chromium` and `chromium-driver` (apt),
# driven by the npm package `playwright-core` (no browser download: it drives /usr/bin/chromium),
# installed under target/peers/browser/.
# Prints `export` lines only; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=1.49.1
dir=target/peers/browser
log() { printf 'browser peer: %s\n' "$*" >&2; }
if [ ! -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null; then
  command -v apt-get >/dev/null || { log "chromium is missing and apt-get is not available"; exit 1; }
  log "installing chromium and chromium-driver (apt)"
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y --no-install-recommends chromium chromium-driver >&2
fi
[ -x /usr/bin/chromium ] || { log "/usr/bin/chromium is still missing after the install"; exit 1; }
command -v node >/dev/null || { log "node is missing (apt-get install nodejs npm)"; exit 1; }
mkdir -p "$dir"
installed=$(node -p "require('./$dir/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
  log "installing playwright-core@$version"
  printf '{"name":"passerelle-browser-peer","private":true}\n' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "playwright-core@$version" >&2)
fi
node -e "require('./$dir/node_modules/playwright-core')" || { log "playwright-core does not load"; exit 1; }
echo "export PASSERELLE_TEST_PLAYWRIGHT=$(pwd)/$dir/node_modules/playwright-core"
echo "export PASSERELLE_TEST_CHROMIUM=/usr/bin/chromium"
echo "export PASSERELLE_TEST_NODE=$(command -v node)"
