// A real OpenID provider for Gatehouse's tests: panva/oidc-provider (npm,
// OpenID-certified) with static users behind a password form, static
// clients, a "groups" claim, per-user amr/acr, and JWT access tokens for an
// API. The protocol, the tokens and their checks are the library's; the only
// local code is this config and a small login form. Adapted from the lab
// recipe ../shared/labs/idp/node-oidc-provider/op.mjs.
//
// Run it from a directory whose node_modules has oidc-provider
// (scripts/install-oidc-provider.sh; the Go helper is plugins/oidc/oplab):
//
//   PORT=0 REDIRECT_URIS="https://app.example.test/.gatehouse/auth/app/callback" node op.mjs
//
// It prints "issuer http://127.0.0.1:PORT" once it listens (PORT=0: a free
// port picked by the kernel) and, with EXIT_ON_STDIN_EOF=1, exits when its
// stdin closes, so a test that dies takes its provider with it. With
// TLS_CERT and TLS_KEY (PEM files) it serves HTTPS: issuer https://127.0.0.1:PORT.
// API_AUDIENCE is the audience of the robot's JWT access tokens. JWKS, a
// JSON Web Key Set with private keys, replaces the keys the provider would
// make for itself (a test that must sign tokens of its own sets it).
//
// Users (password "password"):
//   alice  groups engineering, gateway-admins; amr pwd, otp, mfa; acr urn:e2e:mfa
//   bob    groups sales;                       amr pwd;           acr urn:e2e:pwd
// Clients:
//   gateway         confidential (client_secret_basic "gateway-secret"), code + PKCE
//   gateway-public  public (no secret), code + PKCE
//   robot           client_credentials ("robot-secret"): a JWT access token for API_AUDIENCE
// The login page has a Cancel button: it ends the sign-in with error=access_denied.
// GET /test/jwks-fetches answers how many times the key set (/jwks) was fetched.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider, { errors } from 'oidc-provider';

const PORT = Number(process.env.PORT || 0);
const REDIRECT_URIS = (process.env.REDIRECT_URIS || 'http://127.0.0.1:8085/callback').split(/[\s,]+/).filter(Boolean);
const API_AUDIENCE = process.env.API_AUDIENCE || 'https://api.example.test';
const TLS = process.env.TLS_CERT && process.env.TLS_KEY &&
  { cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY) };

const USERS = {
  alice: { password: 'password', amr: ['pwd', 'otp', 'mfa'], acr: 'urn:e2e:mfa',
    claims: { email: 'alice@example.com', email_verified: true, name: 'Alice Example',
      preferred_username: 'alice', upn: 'alice@EXAMPLE.TEST', groups: ['engineering', 'gateway-admins'] } },
  bob: { password: 'password', amr: ['pwd'], acr: 'urn:e2e:pwd',
    claims: { email: 'bob@example.com', email_verified: true, name: 'Bob', preferred_username: 'bob',
      groups: ['sales'] } },
};

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (uid, msg = '') => `<!doctype html><html><head><title>Sign in</title></head><body>
<h1>Sign in</h1><p>${esc(msg)}</p>
<form method="post" action="/interaction/${esc(uid)}/login">
<input name="username" autocomplete="username"> <input name="password" type="password">
<button type="submit">Sign in</button></form>
<form method="post" action="/interaction/${esc(uid)}/abort"><button type="submit">Cancel</button></form>
</body></html>`;

let provider; // set once the port is known: the issuer URL contains it
let jwksFetches = 0; // GET /test/jwks-fetches: how often the key set was fetched

const handler = async (req, res) => {
  if (req.url === '/test/jwks-fetches') {
    res.setHeader('content-type', 'text/plain');
    return res.end(String(jwksFetches));
  }
  if (req.url.startsWith('/jwks')) jwksFetches++;
  const m = req.url.match(/^\/interaction\/([^/?]+)(\/login|\/abort)?/);
  if (!m) return provider.callback()(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader('cache-control', 'no-store');
      return res.end(page(details.uid));
    }
    if (m[2] === '/abort') {
      return await provider.interactionFinished(req, res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false });
    }
    let body = '';
    for await (const c of req) body += c;
    const f = new URLSearchParams(body);
    const u = Object.hasOwn(USERS, f.get('username')) ? USERS[f.get('username')] : undefined;
    if (!u || u.password !== f.get('password')) {
      res.statusCode = 401;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return res.end(page(details.uid, 'Invalid username or password'));
    }
    await provider.interactionFinished(req, res,
      { login: { accountId: f.get('username'), amr: u.amr, acr: u.acr, remember: false } },
      { mergeWithLastSubmission: false });
  } catch (e) {
    res.statusCode = 400;
    res.end(String(e));
  }
};
const server = TLS ? https.createServer(TLS, handler) : http.createServer(handler);

server.listen(PORT, '127.0.0.1', () => {
  const issuer = `${TLS ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: [
      { client_id: 'gateway', client_secret: 'gateway-secret', redirect_uris: REDIRECT_URIS,
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      { client_id: 'gateway-public', token_endpoint_auth_method: 'none', redirect_uris: REDIRECT_URIS,
        grant_types: ['authorization_code'], response_types: ['code'] },
      { client_id: 'robot', client_secret: 'robot-secret', grant_types: ['client_credentials'],
        response_types: [], redirect_uris: [], scope: 'api' },
    ],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access', 'api'],
    // acr/amr/auth_time are standalone claims by default (only on explicit request); map them
    // into the openid scope so every ID token carries them
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'upn'], groups: ['groups'] },
    acrValues: ['urn:e2e:pwd', 'urn:e2e:mfa'],
    conformIdTokenClaims: false, // put scope claims into the ID token too
    findAccount: async (ctx, sub) => Object.hasOwn(USERS, sub) &&
      { accountId: sub, claims: async () => ({ sub, ...USERS[sub].claims }) },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf ?? (client.clientId === 'robot' ? API_AUDIENCE : undefined),
        getResourceServerInfo: async (ctx, resource) => {
          if (resource !== API_AUDIENCE) throw new errors.InvalidTarget();
          return { scope: 'api', audience: API_AUDIENCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // first-party clients: grant everything requested, no consent screen
    loadExistingGrant: async (ctx) => {
      const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (id) return ctx.oidc.provider.Grant.find(id);
      const g = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      g.addOIDCScope('openid email profile groups offline_access');
      g.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username', 'upn', 'groups']);
      await g.save();
      return g;
    },
    cookies: { keys: ['gatehouse-tests-only-cookie-key'] },
    ...(process.env.JWKS ? { jwks: JSON.parse(process.env.JWKS) } : {}),
  });
  provider.proxy = false;
  console.log(`issuer ${issuer}`);
});

if (process.env.EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
