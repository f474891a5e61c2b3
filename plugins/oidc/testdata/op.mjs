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
// Sign-out: /session/end (end_session_endpoint) with client_id, post_logout_redirect_uri (each
// redirect URI's .../signedout, or POST_LOGOUT_REDIRECT_URIS) and state asks "Sign out?" first.
// GET /test/jwks-fetches answers how many times the key set (/jwks) was fetched.
// GET /test/auth-requests answers how many authorization requests (/auth?...) it received.
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
// shell is the provider's page frame: a made-up company's sign-in look
// (viewport meta, labelled inputs, visible focus, contrast >= 4.5:1), so a
// newcomer trying the demo sees what staff would. inner is trusted markup.
const shell = (title, inner) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)} · Example Corp</title>
<style>
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#eef2f6}
header{background:#3b2f80;color:#fff;padding:.8rem 1rem;font-weight:700;font-size:1.1rem}
header span{display:inline-block;width:1.4rem;height:1.4rem;border-radius:50%;background:#f2c94c;vertical-align:-.3rem;margin-right:.5rem}
main{max-width:26rem;margin:2.5rem auto;background:#fff;padding:1.75rem 1.5rem;border-radius:12px;border:1px solid #d5dbe3}
@media (max-width:30rem){main{margin:0;border-radius:0;border-width:0 0 1px}}
h1{font-size:1.5rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem;color:#4a5360}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input{display:block;width:100%;font:inherit;padding:.6rem .7rem;border:1px solid #7d8794;border-radius:8px}
button{font:inherit;font-weight:600;padding:.65rem 1rem;border-radius:8px;border:1px solid #3b2f80;cursor:pointer}
.primary{width:100%;margin-top:1.25rem;background:#3b2f80;color:#fff}.primary:hover{background:#2a2160}
.secondary{width:100%;margin-top:.6rem;background:#fff;color:#3b2f80}.secondary:hover{background:#f1effa}
:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
.alert{border:1px solid #c0392b;border-left-width:5px;background:#fdf1ef;color:#7a1d12;padding:.6rem .8rem;border-radius:6px}
footer{text-align:center;color:#4a5360;font-size:.85rem;padding:0 1rem 2rem}
</style></head><body><header><span aria-hidden="true"></span>Example Corp</header>
<main>${inner}</main><footer>Example Corp staff sign-in (a test identity provider)</footer></body></html>`;

const page = (uid, msg = '') => shell('Sign in', `<h1>Sign in</h1><p>Use your Example Corp account.</p>
${msg ? `<p class="alert" role="alert">${esc(msg)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button class="primary" type="submit">Sign in</button></form>
<form method="post" action="/interaction/${esc(uid)}/abort"><button class="secondary" type="submit">Cancel</button></form>`);

// RP-initiated logout (the end_session_endpoint, /session/end; H2's part of this file): the
// gateway's "Signed out" page of each redirect URI (.../callback -> .../signedout) is a
// registered post_logout_redirect_uri, or POST_LOGOUT_REDIRECT_URIS lists them. The pages use
// the login page's shell.
const POST_LOGOUT_REDIRECT_URIS = (process.env.POST_LOGOUT_REDIRECT_URIS ||
  REDIRECT_URIS.map((u) => u.replace(/\/callback$/, '/signedout')).join(' ')).split(/[\s,]+/).filter(Boolean);
const logoutSource = async (ctx, form) => {
  ctx.type = 'html';
  ctx.body = shell('Sign out', `<h1>Sign out</h1><p>Do you want to sign out of your Example Corp account on this browser?</p>
${form}<button class="primary" autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>`);
};
const postLogoutSuccessSource = async (ctx) => {
  ctx.type = 'html';
  ctx.body = shell('Signed out', '<h1>Signed out</h1><p>You are signed out of your Example Corp account.</p>');
};

let provider; // set once the port is known: the issuer URL contains it
let jwksFetches = 0; // GET /test/jwks-fetches: how often the key set was fetched
let authRequests = 0; // GET /test/auth-requests: how many authorization requests (sign-ins) began

const handler = async (req, res) => {
  if (req.url === '/test/jwks-fetches') {
    res.setHeader('content-type', 'text/plain');
    return res.end(String(jwksFetches));
  }
  if (req.url === '/test/auth-requests') {
    res.setHeader('content-type', 'text/plain');
    return res.end(String(authRequests));
  }
  if (req.url.startsWith('/jwks')) jwksFetches++;
  if (req.url.startsWith('/auth?')) authRequests++;
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
        post_logout_redirect_uris: POST_LOGOUT_REDIRECT_URIS,
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      { client_id: 'gateway-public', token_endpoint_auth_method: 'none', redirect_uris: REDIRECT_URIS,
        post_logout_redirect_uris: POST_LOGOUT_REDIRECT_URIS,
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
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
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
