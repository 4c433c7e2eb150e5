// A real WS-Federation STS for Passerelle's tests: auth0's `wsfed` middleware (node-wsfed) issues the
// SAML 1.1 tokens and the federation metadata; SAML 2.0 tokens come from `saml` (node-saml, the signer
// node-wsfed itself uses), wrapped in a WS-Trust 1.3 RequestSecurityTokenResponseCollection the way
// ADFS sends them. Login is our own small form (one test account).
//
//   node sts.js            # serves on 127.0.0.1:$WSFED_PORT (0 = any), prints "READY <port>"
//   node sts.js --issue    # prints one wresult for $WSFED_ISSUE (JSON: version, realm, lifetime,
//                          # wctx, sha1: sign with rsa-sha1/sha1 instead of rsa-sha256/sha256)
//
// Environment: WSFED_KEY, WSFED_CERT (PEM files: the token-signing key and certificate),
// WSFED_ISSUER (entityID and token issuer), WSFED_TOKEN ("saml11", the default, or "saml20").
// Endpoints: GET /wsfed (wsignin1.0 shows the login form; wsignout1.0 answers "déconnecté"),
// POST /wsfed/login (fields login, password and the sign-in parameters), GET
// /FederationMetadata/2007-06/FederationMetadata.xml.
const fs = require('fs');
const express = require('express');
const wsfed = require('wsfed');
const templates = require('wsfed/lib/templates');
const PassportProfileMapper = require('wsfed/lib/claims/PassportProfileMapper');
const saml = require('saml');

const key = fs.readFileSync(process.env.WSFED_KEY);
const cert = fs.readFileSync(process.env.WSFED_CERT);
const issuer = process.env.WSFED_ISSUER || 'urn:passerelle:test-sts';
const tokenKind = process.env.WSFED_TOKEN || 'saml11';

const ACCOUNTS = {
  'prof.test': {
    password: 'motdepasse-prof',
    profile: {
      id: 'prof.test',
      displayName: 'Claire Martin',
      name: { givenName: 'Claire', familyName: 'Martin' },
    },
    extra: {
      'http://schemas.xmlsoap.org/claims/Group': ['Professeurs', 'Utilisateurs du domaine'],
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/dateofbirth': '1980-02-03',
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/postalcode': '75011',
    },
  },
};

// node-wsfed's claims for a Passport profile, plus the account's extra claims.
function Mapper(user) {
  if (!(this instanceof Mapper)) return new Mapper(user);
  this.base = PassportProfileMapper(user.profile);
  this.user = user;
}
Mapper.prototype.getClaims = function () {
  const claims = this.base.getClaims();
  for (const k of Object.keys(claims)) {
    if (k.startsWith('http://schemas.passportjs.com/')) delete claims[k];
  }
  return Object.assign(claims, this.user.extra);
};
Mapper.prototype.getNameIdentifier = function () {
  return this.base.getNameIdentifier();
};
Mapper.prototype.metadata = PassportProfileMapper.prototype.metadata;

function asResource(res) {
  return /^(https?:|urn:)/.test(res) ? res : 'urn:' + res;
}

// SAML 1.1 through node-wsfed's own middleware; the response handler hands us its RSTR.
function issueSaml11(query, user, lifetime, algorithms, done) {
  const middleware = wsfed.auth({
    ...algorithms,
    issuer,
    cert,
    key,
    lifetimeInSeconds: lifetime,
    profileMapper: Mapper,
    getUserFromRequest: () => user,
    getPostURL: (wtrealm, wreply, req, cb) => cb(null, wreply),
    responseHandler: (res, postUrl, ctx, wresult) => done(null, { postUrl, ctx, wresult }),
  });
  middleware({ query }, {}, (err) => done(err || new Error('wsfed refused the request')));
}

// SAML 2.0 with node-saml, in a WS-Trust 1.3 collection with Lifetime, AppliesTo and bearer key type.
function issueSaml20(query, user, lifetime, algorithms, done) {
  const mapper = Mapper(user);
  const audience = asResource(query.wtrealm);
  const assertion = saml.Saml20.create({
    ...algorithms,
    cert,
    key,
    issuer,
    lifetimeInSeconds: lifetime,
    audiences: audience,
    attributes: mapper.getClaims(),
    nameIdentifier: mapper.getNameIdentifier().nameIdentifier,
  });
  const created = new Date();
  const expires = new Date(created.getTime() + lifetime * 1000);
  const wresult =
    '<trust:RequestSecurityTokenResponseCollection xmlns:trust="http://docs.oasis-open.org/ws-sx/ws-trust/200512">' +
    '<trust:RequestSecurityTokenResponse>' +
    '<trust:Lifetime><wsu:Created xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">' +
    created.toISOString() +
    '</wsu:Created><wsu:Expires xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">' +
    expires.toISOString() +
    '</wsu:Expires></trust:Lifetime>' +
    '<wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy"><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>' +
    audience +
    '</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>' +
    '<trust:RequestedSecurityToken>' +
    assertion +
    '</trust:RequestedSecurityToken>' +
    '<trust:TokenType>urn:oasis:names:tc:SAML:2.0:assertion</trust:TokenType>' +
    '<trust:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</trust:RequestType>' +
    '<trust:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer</trust:KeyType>' +
    '</trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection>';
  done(null, { postUrl: query.wreply, ctx: query.wctx, wresult });
}

function issue(kind, query, user, lifetime, done, sha1 = false) {
  const algorithms = sha1
    ? { signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' }
    : { signatureAlgorithm: 'rsa-sha256', digestAlgorithm: 'sha256' };
  (kind === 'saml20' ? issueSaml20 : issueSaml11)(query, user, lifetime, algorithms, done);
}

if (process.argv[2] === '--issue') {
  const spec = JSON.parse(process.env.WSFED_ISSUE || '{}');
  const query = { wtrealm: spec.realm, wreply: spec.wreply || 'http://127.0.0.1/', wctx: spec.wctx || '' };
  issue(spec.version === '2.0' ? 'saml20' : 'saml11', query, ACCOUNTS['prof.test'], spec.lifetime || 600, (err, out) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    process.stdout.write(out.wresult);
  }, Boolean(spec.sha1));
  return;
}

const app = express();
app.use(express.urlencoded({ extended: false }));
app.get(
  '/FederationMetadata/2007-06/FederationMetadata.xml',
  wsfed.metadata({ issuer, cert, endpointPath: '/wsfed', profileMapper: Mapper })
);
const escape = (s) => String(s || '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
app.get('/wsfed', (req, res) => {
  if (req.query.wa === 'wsignout1.0') return res.type('text/plain').send('déconnecté');
  if (req.query.wa !== 'wsignin1.0' || !req.query.wtrealm || !req.query.wreply) {
    return res.status(400).type('text/plain').send('wa=wsignin1.0, wtrealm et wreply exigés');
  }
  const hidden = ['wtrealm', 'wreply', 'wctx', 'whr', 'wfresh']
    .map((k) => `<input type="hidden" name="${k}" value="${escape(req.query[k])}">`)
    .join('');
  res.type('text/html').send(
    `<form method="post" action="/wsfed/login">${hidden}<input name="login"><input name="password" type="password"><button>Connexion</button></form>`
  );
});
app.post('/wsfed/login', (req, res, next) => {
  const user = ACCOUNTS[req.body.login];
  if (!user || user.password !== req.body.password) return res.status(401).type('text/plain').send('identifiants invalides');
  issue(tokenKind, req.body, user, 600, (err, out) => {
    if (err) return next(err);
    res.type('text/html').send(templates.form({ callback: out.postUrl, wctx: out.ctx, wresult: out.wresult }));
  });
});
const server = app.listen(Number(process.env.WSFED_PORT || 0), '127.0.0.1', () => {
  console.log(`READY ${server.address().port}`);
});
