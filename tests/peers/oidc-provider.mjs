// The tests' identity provider: npm oidc-provider (a certified OpenID Provider), on loopback over
// HTTPS, started by the tests themselves.
//
//   node oidc-provider.mjs --cert C --key K --state DIR [--port N] [--backchannel URL]
//
// It prints one JSON line {"issuer", "port"} once it listens, then serves:
//  - the real provider: discovery, JWKS, /auth, /token (DPoP too), /session/end, back-channel
//    logout sent by the provider itself to --backchannel (oidc-provider's own delivery);
//  - /test/* helpers, for tests only, that drive a browser's part headlessly:
//      POST /test/login   {user, acr?, dpop_jwk?} -> {access_token, id_token, token_type, browser}
//                         a whole authorization-code + PKCE login of `user` (login_hint), at LoA
//                         `acr` (urn:branchline:loa:2 adds amr otp), with a DPoP-bound token when
//                         dpop_jwk (a private JWK) is given;
//      POST /test/logout  {browser} -> {ok}: RP-initiated logout of that browser's session, which
//                         makes the provider send its back-channel logout tokens;
//      GET  /test/events  -> [{event, ...}]: back-channel deliveries and their outcome;
//      POST /test/rotate  -> {kid}: adds a new signing key in front (the provider signs with it
//                         from now on; the old one stays published);
//      POST /test/sign    {kid, header, payload} -> {jws}: signs claims the test chose with the
//                         provider's own key `kid` (the attack suite's expired, wrong-audience,
//                         ... tokens, as only this provider could have made them).
// Keys live in DIR/jwks.json (made on first start), so a restart keeps them.
import { createServer } from 'node:https';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const { values: args } = parseArgs({
  options: {
    cert: { type: 'string' }, key: { type: 'string' }, state: { type: 'string' },
    port: { type: 'string', default: '0' }, backchannel: { type: 'string', default: '' },
  },
});
mkdirSync(args.state, { recursive: true });

const LOA1 = 'urn:branchline:loa:1';
const LOA2 = 'urn:branchline:loa:2';
const API = 'urn:branchline:api';
const REDIRECT = 'https://127.0.0.1/callback';

// Accounts: who the tests sign in as, with the claims Branchline's policy reads.
const accounts = {
  'advisor-1': { roles: ['advisor'], region: 'north', branch: 'b-12' },
  'advisor-2': { roles: ['advisor'], region: 'south', branch: 'b-40' },
  'supervisor-1': { roles: ['supervisor'], region: 'north', branch: 'b-12' },
  'auditor-1': { roles: ['auditor'] },
  'operator-1': { roles: ['operator'] },
  'c-1001': { roles: ['customer'], customer: 'c-1001' },
};

async function makeKey(alg, kid) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' };
}
const jwksFile = `${args.state}/jwks.json`;
let jwks;
if (existsSync(jwksFile)) {
  jwks = JSON.parse(readFileSync(jwksFile, 'utf8'));
} else {
  jwks = { keys: [await makeKey('ES256', 'es-1'), await makeKey('RS256', 'rs-1')] };
  writeFileSync(jwksFile, JSON.stringify(jwks), { mode: 0o600 });
}

const tlsOptions = { cert: readFileSync(args.cert), key: readFileSync(args.key) };
const server = createServer(tlsOptions);
await new Promise((resolve) => server.listen(Number(args.port), '127.0.0.1', resolve));
const port = server.address().port;
const issuer = `https://127.0.0.1:${port}`;
const events = [];

function configuration() {
  return {
    jwks,
    clients: [
      {
        client_id: 'advisor-console',
        token_endpoint_auth_method: 'none',  // a public client (browser app) with PKCE
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: [REDIRECT],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
        require_auth_time: true,
        ...(args.backchannel ? { backchannel_logout_uri: args.backchannel, backchannel_logout_session_required: true } : {}),
      },
    ],
    pkce: { required: () => true },
    acrValues: [LOA1, LOA2],
    scopes: ['openid', 'roles', 'api'],
    // amr reaches the ID token only when a scope lists it (a known trap).
    claims: { openid: ['sub', 'amr'], roles: ['roles', 'region', 'branch', 'customer'], acr: null, auth_time: null, sid: null },
    findAccount: async (_ctx, id) => (accounts[id] ? { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) } : undefined),
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => API,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          audience: 'branchline-api',
          scope: 'api',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    // What Branchline's policy needs from an access token, from the authorization code's session.
    extraTokenClaims: async (ctx, token) => {
      if (token.kind !== 'AccessToken') return undefined;
      const code = ctx.oidc.entities.AuthorizationCode;
      const account = accounts[token.accountId] ?? {};
      return {
        ...account,
        ...(code ? { acr: code.acr, amr: code.amr, auth_time: code.authTime, sid: code.sid } : {}),
      };
    },
    ttl: { AccessToken: 300, IdToken: 300, Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60 },
    // Tests only, for oidc-provider 9 and later (8, pinned for Node.js 18, sends with got over
    // Node's https agent and ignores this): their default client refuses loopback targets (an SSRF
    // guard), and Branchline listens on 127.0.0.1 with its development certificate
    // (NODE_EXTRA_CA_CERTS trusts it, in both).
    fetch: (url, options) => { delete options.dispatcher; return fetch(url, options); },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    renderError: async (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
  };
}

// Headless interactions (test only): log in the login_hint at the requested LoA, then consent.
async function headless(ctx, next) {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    const accountId = params.login_hint;
    if (!accounts[accountId]) { ctx.status = 400; ctx.body = { error: 'unknown user' }; return undefined; }
    const acr = String(params.acr_values ?? LOA1).split(' ').includes(LOA2) ? LOA2 : LOA1;
    const result = { login: { accountId, acr, amr: acr === LOA2 ? ['pwd', 'otp'] : ['pwd'] } };
    return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function makeProvider() {
  const p = new Provider(issuer, configuration());
  p.proxy = false;
  p.on('backchannel.success', (_ctx, client, accountId, sid) => events.push({ event: 'backchannel.success', client: client.clientId, accountId, sid }));
  p.on('backchannel.error', (_ctx, err, client, accountId, sid) => events.push({ event: 'backchannel.error', client: client?.clientId, error: String(err?.cause ?? err), accountId, sid }));
  p.use(headless);
  return p;
}
let provider = makeProvider();


// ---- /test helpers: a browser with a cookie jar, driving the provider over HTTPS ----
const browsers = new Map();
class Browser {
  constructor() { this.id = randomBytes(8).toString('hex'); this.cookies = new Map(); }
  async go(url, init = {}) {
    const headers = { ...(init.headers ?? {}), cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    const res = await fetch(new URL(url, issuer), { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const value = pair.slice(i + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(pair.slice(0, i));
      else this.cookies.set(pair.slice(0, i), value);
    }
    return res;
  }
}

async function login({ user, acr, dpop_jwk: dpopJwk }) {
  const browser = new Browser();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(8).toString('hex');
  const nonce = randomBytes(8).toString('hex');
  const query = new URLSearchParams({
    client_id: 'advisor-console', response_type: 'code', redirect_uri: REDIRECT, scope: 'openid roles api',
    code_challenge: challenge, code_challenge_method: 'S256', state, nonce, login_hint: user,
    acr_values: acr ?? LOA1, resource: API, prompt: 'login consent',
  });
  let res = await browser.go(`/auth?${query}`);
  for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops += 1) {
    const location = res.headers.get('location');
    if (location.startsWith(REDIRECT)) break;
    res = await browser.go(location);
  }
  const location = res.headers.get('location') ?? '';
  if (!location.startsWith(REDIRECT)) throw new Error(`login did not reach the callback: ${res.status} ${await res.text()}`);
  const callback = new URL(location);
  if (callback.searchParams.get('state') !== state) throw new Error('state mismatch');
  if (callback.searchParams.get('iss') !== issuer) throw new Error('iss mismatch');
  const tokenHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
  if (dpopJwk) {
    const key = await jose.importJWK(dpopJwk, 'ES256');
    const { d, ...pub } = dpopJwk;
    tokenHeaders.dpop = await new jose.SignJWT({ htm: 'POST', htu: `${issuer}/token`, jti: randomBytes(8).toString('hex') })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: pub }).setIssuedAt().sign(key);
  }
  const tokenRes = await fetch(`${issuer}/token`, {
    method: 'POST', headers: tokenHeaders,
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: REDIRECT,
      client_id: 'advisor-console', code_verifier: verifier, resource: API,
    }),
  });
  const tokens = await tokenRes.json();
  if (!tokenRes.ok) throw new Error(`token endpoint: ${JSON.stringify(tokens)}`);
  browsers.set(browser.id, { browser, idToken: tokens.id_token });
  return { ...tokens, browser: browser.id };
}

async function logout({ browser: id }) {
  const entry = browsers.get(id);
  if (!entry) throw new Error('unknown browser');
  const { browser, idToken } = entry;
  const res = await browser.go(`/session/end?${new URLSearchParams({ id_token_hint: idToken })}`);
  const page = await res.text();
  const xsrf = page.match(/name="xsrf" value="([^"]+)"/)?.[1];
  if (!xsrf) throw new Error(`no logout form: ${res.status} ${page.slice(0, 200)}`);
  const confirm = await browser.go('/session/end/confirm', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  if (confirm.status >= 400) throw new Error(`logout confirm: ${confirm.status}`);
  browsers.delete(id);
  return { ok: true };
}

async function rotate() {
  const key = await makeKey('ES256', `es-${jwks.keys.length + 1}`);
  jwks = { keys: [key, ...jwks.keys] };
  writeFileSync(jwksFile, JSON.stringify(jwks), { mode: 0o600 });
  // oidc-provider reads its keys at construction; sessions and grants live in its memory adapter,
  // which all instances in this process share, so signed-in browsers stay signed in.
  provider = makeProvider();
  return { kid: key.kid };
}

async function sign({ kid, header, payload }) {
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error(`no key ${kid}`);
  const key = await jose.importJWK(jwk, jwk.alg);
  const jws = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: jwk.alg, kid, ...header }).sign(key);
  return { jws };
}

async function body(req) {
  let text = '';
  for await (const chunk of req) { text += chunk; if (text.length > 65536) throw new Error('body too large'); }
  return text ? JSON.parse(text) : {};
}

const helpers = {
  'POST /test/login': login, 'POST /test/logout': logout, 'POST /test/rotate': rotate, 'POST /test/sign': sign,
  'GET /test/events': async () => events,
};
server.on('request', async (req, res) => {
  const helper = helpers[`${req.method} ${req.url}`];
  if (!helper) return provider.callback()(req, res);
  try {
    const out = await helper(await body(req));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  } catch (e) {
    res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(e?.stack ?? e) }));
  }
  return undefined;
});

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
