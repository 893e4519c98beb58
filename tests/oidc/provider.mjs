// A real OpenID provider for Lotse's single sign-on tests: the certified `oidc-provider`
// package, on loopback, with a few test users whose groups map to Lotse's roles.
//
//   node tests/oidc/provider.mjs CONFIG.json
//
// CONFIG.json: {"port": 0, "clients": [{client_id, client_secret, redirect_uris,
// post_logout_redirect_uris}], "users": {"login": {"password": "...", "claims": {...}}}}.
// The provider prints one line `listening <issuer>` once it accepts requests.
//
// Test-only: POST /__test__/next-id-token {"mode": ...} changes the ID token of the next
// token response, so that Lotse's checks meet a real flow with a bad token: "tamper" (payload
// changed, signature kept), "foreign_key" (signed by a key the provider does not publish),
// "expired", "wrong_issuer", "wrong_audience", "wrong_nonce" (each re-signed with the provider's own key).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
const foreign = await jose.generateKeyPair('RS256', { extractable: true });

const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = createServer();
server.listen(config.port || 0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: ['lotse-test-provider-cookie-key'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups', 'organisation'],
  },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const user = config.users[id];
    if (!user) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...user.claims }) };
  },
  // Lotse is a first-party client: no consent screen, the grant is given at login.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out of the test provider?', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Provider error', `<p id="error">${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
  },
});

let nextIdTokenMode = null;

async function readBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

async function changeIdToken(token, mode) {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const sign = (changed, key = privateKey) => new jose.SignJWT(changed)
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'JWT' })
    .sign(key);
  switch (mode) {
    case 'tamper': {
      const changed = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
      return `${header}.${changed}.${signature}`;
    }
    case 'foreign_key': return sign(claims, foreign.privateKey);
    case 'expired': {
      const now = Math.floor(Date.now() / 1000);
      return sign({ ...claims, iat: now - 7200, exp: now - 3600 });
    }
    case 'wrong_issuer': return sign({ ...claims, iss: 'https://impostor.example.org' });
    case 'wrong_audience': return sign({ ...claims, aud: 'another-application' });
    case 'wrong_nonce': return sign({ ...claims, nonce: 'a-nonce-from-another-login' });
    default: throw new Error(`unknown mode ${mode}`);
  }
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test__/next-id-token' && ctx.method === 'POST') {
    const body = JSON.parse((await readBody(ctx.req)) || '{}');
    nextIdTokenMode = body.mode;
    ctx.body = { mode: nextIdTokenMode };
    return;
  }
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (match) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = page('Test provider: sign in', `
<form method="post" action="/interaction/${escape(details.uid)}/login">
  <p><label for="username">Username</label> <input id="username" name="username" autofocus></p>
  <p><label for="password">Password</label> <input id="password" name="password" type="password"></p>
  <p><button type="submit">Sign in</button></p>
</form>`);
      return;
    }
    const form = new URLSearchParams(await readBody(ctx.req));
    const user = config.users[form.get('username')];
    if (!user || user.password !== form.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('Test provider: sign in', '<p id="error">Wrong username or password.</p>');
      return;
    }
    const target = await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId: form.get('username') },
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(target);
    return;
  }
  await next();
  if (ctx.path === '/token' && nextIdTokenMode && ctx.body?.id_token) {
    const mode = nextIdTokenMode;
    nextIdTokenMode = null;
    ctx.body = { ...ctx.body, id_token: await changeIdToken(ctx.body.id_token, mode) };
  }
});

server.on('request', provider.callback());
process.stdout.write(`listening ${issuer}\n`);
