#!/usr/bin/env bash
# Installs pysaml2 (PyPI) in a venv under target/peers/ for the SAML IdP tests (tests/saml_idp.rs).
# The IdP itself is tests/peers/saml_idp.py, run by the tests. pysaml2 signs with the xmlsec1 command.
# stdout: export lines only.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/peers/pysaml2
if ! "$venv/bin/python" -c 'import saml2' 2>/dev/null; then
  echo "installing pysaml2 into $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q 'pysaml2==7.5.5' >&2
fi
command -v xmlsec1 >/dev/null || { echo "xmlsec1 missing (apt-get install xmlsec1)" >&2; exit 1; }
echo "export PASSERELLE_PYSAML2_PYTHON=$PWD/$venv/bin/python"
echo "export PASSERELLE_PYSAML2_IDP=$PWD/tests/peers/saml_idp.py"
