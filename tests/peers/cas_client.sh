#!/usr/bin/env bash
# A real, independent CAS client for the CAS bridge tests (tests/cas_bridge.rs): python-cas (PyPI,
# module `cas`) in a virtualenv under target/peers/. The tests drive it through
# tests/peers/cas_client.py, which builds login URLs and validates tickets the way a CAS-protected
# application (PRONOTE in production) does.
#
# Prints on stdout only:
#   export PASSERELLE_CAS_CLIENT_PYTHON=<venv python>
#   export PASSERELLE_CAS_CLIENT_SCRIPT=<tests/peers/cas_client.py>
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="$PWD/target/peers/cas-client"
log() { printf 'cas client peer: %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
  log "creating virtualenv"
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import cas, lxml, requests' 2>/dev/null; then
  log "installing python-cas"
  "$venv/bin/pip" install --quiet 'python-cas==1.7.2' >&2
fi
"$venv/bin/python" -c 'import cas; cas.CASClientV2; cas.CASClientV3; cas.CASClientWithSAMLV1' >&2

echo "export PASSERELLE_CAS_CLIENT_PYTHON=$venv/bin/python"
echo "export PASSERELLE_CAS_CLIENT_SCRIPT=$PWD/tests/peers/cas_client.py"
