"""A real SAML2 IdP for the tests, built on pysaml2's IdP API (saml2.server.Server).

Usage: python saml_idp.py ENTITY_ID IDP_KEY IDP_CERT SP_METADATA [SP_METADATA…]
Listens on 127.0.0.1, port $PASSERELLE_IDP_PORT (any free port when unset), and prints "PORT <n>"
on stdout once it does. Endpoints (HTTP-Redirect SSO):
  /sso/signed                 response unsigned, assertion signed
  /sso/encrypted              response signed, assertion encrypted for the SP
  /sso/educonnect-eleve       encrypted, EduConnect-shaped OID attributes, affiliation eleve2d
  /sso/educonnect-resp        same, affiliation resp2d
  /metadata                   the IdP's own metadata (validUntil in 24 h)
Single logout (HTTP-Redirect, signed):
  /slo?SAMLRequest=…          the SP's LogoutRequest: recorded (/last-logout), answered with a LogoutResponse
  /slo?SAMLResponse=…         the SP's answer to an IdP-initiated logout: "logout ok" when Success
  /initiate-logout?sp=E&session_index=S   redirects to SP E's SLS with a LogoutRequest for session S
  /last-session               the SessionIndex of the last assertion issued
  /last-logout                NameID and SessionIndex of the last LogoutRequest received
  /unsolicited?sp=E           an IdP-initiated (unsolicited) signed assertion for SP E, as the POST form
The answer is the IdP's auto-submitting HTML form (SAMLResponse, RelayState), as a browser gets it.
AuthnRequests must be signed by the SP (want_authn_requests_signed).
"""

import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import json
import traceback

import saml2.assertion
import saml2.entity
import saml2.sigver
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_TRANSIENT, NameID
from saml2.server import Server

# pysaml2 encrypts with 3DES by default; EduConnect (Shibboleth) uses AES, which is what the SP accepts.
_pre = saml2.sigver.pre_encryption_part
saml2.entity.pre_encryption_part = lambda **kw: _pre(
    msg_enc="http://www.w3.org/2001/04/xmlenc#aes128-cbc", **kw
)
_encrypt = saml2.sigver.CryptoBackendXmlSec1.encrypt_assertion
saml2.sigver.CryptoBackendXmlSec1.encrypt_assertion = (
    lambda self, statement, enc_key, template, key_type="des-192", node_xpath=None, node_id=None: _encrypt(
        self, statement, enc_key, template, key_type="aes-128", node_xpath=node_xpath, node_id=node_id
    )
)
# Session indexes the tests can ask for (/last-session), to name a session in an IdP-initiated logout.
SESSIONS = []
_sid = saml2.assertion.sid


def _recorded_sid():
    SESSIONS.append(_sid())
    return SESSIONS[-1]


saml2.assertion.sid = _recorded_sid
LOGOUTS = []
SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

entity_id, key_file, cert_file = sys.argv[1:4]
sp_metadata = sys.argv[4:]
port = int(os.environ.get("PASSERELLE_IDP_PORT", "0"))
httpd = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
base = f"http://127.0.0.1:{httpd.server_address[1]}"
MODES = ["signed", "encrypted", "educonnect-eleve", "educonnect-resp"]

config = IdPConfig()
config.load(
    {
        "entityid": entity_id,
        "valid_for": 24,  # hours: metadata validUntil
        "key_file": key_file,
        "cert_file": cert_file,
        "metadata": {"local": sp_metadata},
        "signing_algorithm": SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [
                        (f"{base}/sso/{mode}", BINDING_HTTP_REDIRECT) for mode in MODES
                    ],
                    "single_logout_service": [(f"{base}/slo", BINDING_HTTP_REDIRECT)],
                },
                "want_authn_requests_signed": True,
                "name_form": NAME_FORMAT_URI,
                "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
            }
        },
    }
)
server = Server(config=config)

OID = "urn:oid:1.3.6.1.4.1.20326.10.999.1."
USERS = {
    # uid, sn, givenName and PRONOTE's categories, as an ENT releases them.
    "signed": {
        "urn:oid:0.9.2342.19200300.100.1.1": ["alice"],
        "urn:oid:2.5.4.4": ["Martin"],
        "urn:oid:2.5.4.42": ["Alice"],
        "categories": ["National_1"],
    },
}
USERS["encrypted"] = USERS["signed"]
USERS |= {
    "educonnect-eleve": {
        OID + "57": ["a1" * 48],
        OID + "7": ["eleve2d"],
        OID + "72": ["0254222C"],
        OID + "67": ["2010-04-12"],
        OID + "5": ["https://educonnect.education.gouv.fr/Logout"],
        "urn:oid:2.5.4.4": ["Martin"],
        "urn:oid:2.5.4.42": ["Léa"],
    },
    "educonnect-resp": {
        OID + "57": ["b2" * 48],
        OID + "7": ["resp2d"],
        "urn:oid:2.5.4.4": ["Martin"],
        "urn:oid:2.5.4.42": ["Claire"],
    },
}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        sys.stderr.write("idp: " + (args[0] % args[1:]) + "\n")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/metadata":
            body = create_metadata_string(None, config=config)
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path in ("/slo", "/initiate-logout", "/last-session", "/last-logout", "/unsolicited"):
            try:
                self.logout(url.path, q)
            except Exception as e:  # the test reads the message
                traceback.print_exc()
                self.answer(400, f"{type(e).__name__}: {e}")
            return
        mode = url.path.removeprefix("/sso/")
        if mode not in USERS:
            self.send_error(404)
            return
        try:
            req = server.parse_authn_request(
                q["SAMLRequest"], BINDING_HTTP_REDIRECT,
                relay_state=q.get("RelayState"), sigalg=q.get("SigAlg"), signature=q.get("Signature"),
            )
            args = server.response_args(req.message)
            encrypted = mode != "signed"
            resp = server.create_authn_response(
                USERS[mode],
                userid="alice" if mode == "signed" else mode,
                authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
                sign_response=encrypted,
                sign_assertion=not encrypted,
                encrypt_assertion=encrypted,
                encrypt_assertion_self_contained=True,
                sign_alg=SHA256,
                digest_alg=DIGEST_SHA256,
                **args,
            )
            http = server.apply_binding(
                BINDING_HTTP_POST, str(resp), args["destination"], q.get("RelayState", ""), response=True
            )
            body = http["data"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except Exception as e:  # the test reads the message
            body = f"{type(e).__name__}: {e}".encode()
            self.send_response(400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


def logout(self, path, q):
    if path == "/last-session":
        return self.answer(200, SESSIONS[-1] if SESSIONS else "")
    if path == "/last-logout":
        return self.answer(200, json.dumps(LOGOUTS[-1] if LOGOUTS else {}))
    if path == "/unsolicited":
        sp = q["sp"]
        acs = server.metadata.assertion_consumer_service(sp, BINDING_HTTP_POST)[0]["location"]
        resp = server.create_authn_response(
            USERS["signed"], None, acs, sp, userid="alice",
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
            sign_response=False, sign_assertion=True, sign_alg=SHA256, digest_alg=DIGEST_SHA256,
        )
        http = server.apply_binding(BINDING_HTTP_POST, str(resp), acs, "portail", response=True)
        return self.answer(200, http["data"], "text/html; charset=utf-8")
    if path == "/initiate-logout":
        sp = q["sp"]
        destination = server.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")[0]["location"]
        _, request = server.create_logout_request(
            destination, sp, name_id=NameID(text="transient-inconnu", format=NAMEID_FORMAT_TRANSIENT),
            session_indexes=[q["session_index"]], sign=False,
        )
        info = server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), destination, "relais-idp", sign=True, sigalg=SHA256
        )
        return self.redirect(info)
    if "SAMLResponse" in q:
        response = server.parse_logout_request_response(q["SAMLResponse"], BINDING_HTTP_REDIRECT)
        ok = response.response.status.status_code.value.endswith(":Success")
        return self.answer(200 if ok else 400, "logout ok" if ok else "logout refused")
    request = server.parse_logout_request(
        q["SAMLRequest"], BINDING_HTTP_REDIRECT,
        relay_state=q.get("RelayState"), sigalg=q.get("SigAlg"), signature=q.get("Signature"),
    )
    message = request.message
    LOGOUTS.append({
        "name_id": message.name_id.text if message.name_id is not None else None,
        "session_index": [si.text for si in message.session_index],
        "relay_state": q.get("RelayState"),
    })
    response = server.create_logout_response(message, [BINDING_HTTP_REDIRECT], sign=False)
    destination = server.metadata.single_logout_service(
        message.issuer.text, BINDING_HTTP_REDIRECT, "spsso"
    )[0]["location"]
    info = server.apply_binding(
        BINDING_HTTP_REDIRECT, str(response), destination, q.get("RelayState", ""),
        response=True, sign=True, sigalg=SHA256,
    )
    return self.redirect(info)


def answer(self, status, text, content_type="text/plain; charset=utf-8"):
    body = text.encode()
    self.send_response(status)
    self.send_header("Content-Type", content_type)
    self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    self.wfile.write(body)


def redirect(self, info):
    location = dict(info["headers"])["Location"]
    self.send_response(303)
    self.send_header("Location", location)
    self.send_header("Content-Length", "0")
    self.end_headers()


Handler.logout = logout
Handler.answer = answer
Handler.redirect = redirect
httpd.RequestHandlerClass = Handler
print(f"PORT {httpd.server_address[1]}", flush=True)
httpd.serve_forever()
