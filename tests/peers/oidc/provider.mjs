// A real OpenID provider for Passerelle's tests: the OpenID-certified `oidc-provider` package, with
// one test account and login handled by our own small interaction endpoints (devInteractions off).
//
//   node provider.mjs                 # listens on 127.0.0.1:$OIDC_PORT (0 = any), prints "READY <port>"
//   node provider.mjs --genkey [kid]  # prints {"pem": PKCS#1 RSA private key, "jwk": public JWK}
//
// Environment: OIDC_CLIENTS = JSON array of client metadata (redirect URIs, auth method, jwks,
// backchannel_logout_uri…), OIDC_PORT (default 0). The interaction endpoint is
// POST /interaction/<uid>/login with form fields `login` and `password`; it logs in and consents
// to everything the client asked for.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

function rsaKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' });
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
  return { pem, jwk, privateJwk };
}

if (process.argv[2] === '--genkey') {
  const { pem, jwk } = rsaKey(process.argv[3] || 'test-key');
  process.stdout.write(JSON.stringify({ pem, jwk }) + '\n');
  process.exit(0);
}

const ACCOUNTS = {
  'eleve.test': {
    password: 'motdepasse-eleve',
    claims: {
      sub: 'eleve.test',
      family_name: 'Durand',
      given_name: 'Léa',
      birthdate: '2010-05-04',
      email: 'lea.durand@example.test',
      structure_rne: '0750001A',
      categories: ['National_1'],
      address: { postal_code: '75011', locality: 'Paris' },
    },
  },
};

const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
let provider;
const server = http.createServer(async (req, res) => {
  try {
    const match = req.url.match(/^\/interaction\/([^/?]+)\/login$/);
    if (match && req.method === 'POST') return await login(req, res);
    return provider.callback()(req, res);
  } catch (err) {
    console.error('interaction error', err);
    res.statusCode = 500;
    res.end(String(err));
  }
});

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function login(req, res) {
  const form = await readForm(req);
  const interaction = await provider.interactionDetails(req, res);
  const { prompt, params, session } = interaction;
  let accountId = session?.accountId;
  if (prompt.name === 'login') {
    const account = ACCOUNTS[form.get('login')];
    if (!account || account.password !== form.get('password')) {
      res.statusCode = 401;
      res.setHeader('content-type', 'text/plain');
      return res.end('identifiants invalides');
    }
    accountId = form.get('login');
  }
  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  const grantId = await grant.save();
  const result = { consent: { grantId } };
  if (prompt.name === 'login') result.login = { accountId };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

server.listen(Number(process.env.OIDC_PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const signing = rsaKey('op-key-1');
  provider = new Provider(`http://127.0.0.1:${port}`, {
    clients,
    jwks: { keys: [signing.privateJwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      profile: ['family_name', 'given_name', 'birthdate'],
      email: ['email'],
      address: ['address'],
      ent: ['structure_rne', 'categories'],
    },
    scopes: ['openid', 'profile', 'email', 'address', 'ent'],
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const account = ACCOUNTS[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => account.claims };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('backchannel.error', (client, err) => console.error('backchannel.error', err));
  provider.on('backchannel.success', (client) => console.error('backchannel.success', client.clientId));
  console.log(`READY ${port}`);
});
