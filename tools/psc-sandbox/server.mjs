// A local stand-in for Pro Santé Connect, built on panva's oidc-provider (OpenID Certified).
//
// It is a real OpenID Connect provider, configured the way PSC behaves (DOMAIN.md §7.2):
// discovery, authorization code + PKCE, acr "eidas1", scopes "openid scope_all", the PSC
// claims (SubjectNameID = "8" + RPPS, SubjectRefPro with its exercices and activities), a
// UserInfo answered as a signed JWT (application/jwt), a sid in the ID token, and
// RP-initiated logout (end_session_endpoint with id_token_hint + post_logout_redirect_uri).
//
// Used by the tests (tests/psc_sandbox.py starts it on a free port) and by `make demo`.
// Its login page lists the identities of identities.json: pick one, no password.
//
// Environment:
//   PSC_SANDBOX_HOST, PSC_SANDBOX_PORT       where to listen (127.0.0.1, 0 = a free port)
//   PSC_SANDBOX_CLIENT_ID / _CLIENT_SECRET   the one registered client
//   PSC_SANDBOX_REDIRECT_URIS                comma-separated redirect URIs of that client
//   PSC_SANDBOX_POST_LOGOUT_URIS             comma-separated post-logout redirect URIs
//   PSC_SANDBOX_IDENTITIES                   path of the identities file (./identities.json)
//   PSC_SANDBOX_CONTROL=1                    enables POST /__sandbox/mode, so that a test can
//                                            make the provider misbehave (never in the demo)
// Once listening it prints one line: `PSC sandbox listening on <issuer>`.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const host = env.PSC_SANDBOX_HOST || '127.0.0.1';
const port = Number(env.PSC_SANDBOX_PORT || 0);
const clientId = env.PSC_SANDBOX_CLIENT_ID || 'cpts-liaison-sandbox';
const clientSecret = env.PSC_SANDBOX_CLIENT_SECRET || 'cpts-liaison-sandbox-secret';
const list = (value) => (value || '').split(',').map((s) => s.trim()).filter(Boolean);
const redirectUris = list(env.PSC_SANDBOX_REDIRECT_URIS || 'http://127.0.0.1:8000/connexion/psc/retour/');
const postLogoutUris = list(env.PSC_SANDBOX_POST_LOGOUT_URIS || 'http://127.0.0.1:8000/connexion/');
const control = env.PSC_SANDBOX_CONTROL === '1';
const identities = JSON.parse(
  readFileSync(env.PSC_SANDBOX_IDENTITIES || join(here, 'identities.json'), 'utf8'),
);

// The misbehaviours a test may ask for (POST /__sandbox/mode), all off by default.
const NORMAL = { id_token: 'ok', userinfo: 'jwt', discovery: 'ok', acr: 'eidas1' };
let mode = { ...NORMAL };

function rsaKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}
const signingJwk = rsaKey('psc-sandbox-sig');
// Same kid, another key: what a forged token looks like to the relying party.
const forgerJwk = rsaKey('psc-sandbox-sig');

// PSC's claims, built from the compact identities file (DOMAIN.md §7.2, UserInfo claims).
function pscClaims(identity) {
  const nationalId = `8${identity.rpps}`;
  return {
    sub: nationalId,
    SubjectNameID: nationalId,
    preferred_username: nationalId,
    given_name: identity.given_name,
    family_name: identity.family_name,
    email_verified: false,
    SubjectOrganization: identity.organisation || '',
    SubjectRole: [`${identity.codeProfession}^1.2.250.1.213.1.1.5.5`],
    Secteur_Activite: 'SA07^1.2.250.1.71.4.2.4',
    Palier_Authentification: 'APPPRIP3^1.2.250.1.213.1.5.1.1.1',
    PSI_Locale: '1.2.250.1.213.1.3.1.1',
    UITVersion: '1.0',
    otherIds: [{ identifiant: identity.rpps, origine: 'RPPS', qualite: 1 }],
    SubjectRefPro: {
      codeCivilite: identity.codeCivilite || 'M',
      exercices: [
        {
          codeProfession: identity.codeProfession,
          codeCategorieProfessionnelle: 'C',
          codeCiviliteDexercice: identity.codeCiviliteDexercice || '',
          nomDexercice: identity.family_name.toUpperCase(),
          prenomDexercice: identity.given_name,
          codeTypeSavoirFaire: identity.codeSavoirFaire ? 'S' : '',
          codeSavoirFaire: identity.codeSavoirFaire || '',
          activities: [
            {
              codeModeExercice: 'L',
              codeSecteurDactivite: 'SA07',
              codeSectionPharmacien: '',
              codeRole: '',
              numeroSiretSite: '',
              numeroSirenSite: '',
              numeroFinessSite: '',
              numeroFinessetablissementJuridique: '',
              identifiantTechniqueDeLaStructure: `R10000${identity.rpps}`,
              raisonSocialeSite: identity.organisation || '',
              enseigneCommercialeSite: '',
              codePostal: '45000',
              codeCommune: '45234',
              telephone: '',
              adresseEMail: '',
              autoriteDenregistrement: 'CNOM/CNOM/CNOM',
              codeGenreActivite: 'GENR01',
            },
          ],
        },
      ],
    },
  };
}
const SCOPE_ALL = Object.keys(pscClaims(identities[0])).filter((claim) => claim !== 'sub');
const byId = new Map(identities.map((identity) => [identity.rpps, identity]));

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}
button{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

async function tamper(token, how) {
  // Re-sign the provider's own ID token after changing what the test asked to break.
  const header = decodeProtectedHeader(token);
  const payload = decodeJwt(token);
  const now = Math.floor(Date.now() / 1000);
  let jwk = signingJwk;
  if (how === 'wrong_nonce') payload.nonce = 'not-the-nonce-you-sent';
  else if (how === 'expired') Object.assign(payload, { iat: now - 7200, exp: now - 3600 });
  else if (how === 'wrong_issuer') payload.iss = 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet';
  else if (how === 'wrong_audience') payload.aud = 'another-service';
  else if (how === 'bad_signature') jwk = forgerJwk;
  return new SignJWT(payload).setProtectedHeader(header).sign(await importJWK(jwk, 'RS256'));
}

const server = createServer();
await new Promise((resolve) => server.listen(port, host, resolve));
const issuer = `http://${host}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      userinfo_signed_response_alg: 'RS256',
      // With a back-channel logout URI PSC's sid appears in the ID token (the relying party
      // audits it); the tests do not serve that URI, the provider logs the failed call.
      backchannel_logout_uri: new URL('/connexion/psc/backchannel/', redirectUris[0]).href,
      backchannel_logout_session_required: true,
    },
  ],
  jwks: { keys: [signingJwk] },
  acrValues: ['eidas1'],
  scopes: ['openid', 'scope_all'],
  claims: { openid: ['sub'], scope_all: SCOPE_ALL },
  conformIdTokenClaims: true,
  pkce: { required: () => true },
  cookies: {
    keys: [randomBytes(32).toString('hex')],
    // Plain HTTP on the loopback: SameSite=None cookies would need Secure.
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // PSC ends the session without asking when id_token_hint is sent: submit at once.
      logoutSource: async (ctx, form) => {
        ctx.body = page(
          'Déconnexion de Pro Santé Connect',
          `${form}<button form="op.logoutForm" type="submit" name="logout" value="yes">Se déconnecter</button>
<script>var f=document.getElementById('op.logoutForm');var i=document.createElement('input');i.type='hidden';i.name='logout';i.value='yes';f.appendChild(i);f.submit();</script>`,
        );
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Vous êtes déconnecté de Pro Santé Connect', '');
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => {
    const identity = byId.get(id);
    if (!identity) return undefined;
    return { accountId: id, claims: async () => pscClaims(identity) };
  },
  // No consent screen: PSC asks none of a registered service; the grant is made on the spot.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid scope_all');
    await grant.save();
    return grant;
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Erreur Pro Santé Connect', `<p>${escapeHtml(out.error)}: ${escapeHtml(out.error_description || '')}</p>`);
  },
});
provider.proxy = false;

// The misbehaviours, applied on the way out of the provider's own endpoints.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token && mode.id_token !== 'ok') {
    ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token, mode.id_token) };
  }
  if (ctx.path === '/me' && ctx.status === 200 && typeof ctx.body === 'string') {
    if (mode.userinfo === 'json') {
      ctx.body = decodeJwt(ctx.body);
      for (const claim of ['iss', 'aud', 'iat', 'exp']) delete ctx.body[claim];
    } else if (mode.userinfo === 'bad_signature') {
      ctx.body = await tamper(ctx.body, 'bad_signature');
      ctx.type = 'application/jwt';
    }
  }
});

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const rpps = form.get('identity');
    if (!byId.has(rpps)) return send(res, 400, page('Identité inconnue', ''));
    const result = { login: { accountId: rpps, acr: mode.acr, amr: ['mfa', 'otp'] } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (action === 'abort' && req.method === 'POST') {
    const result = { error: 'access_denied', error_description: 'Connexion annulée' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  const buttons = identities
    .map(
      (identity) => `<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<input type="hidden" name="identity" value="${escapeHtml(identity.rpps)}">
<button type="submit">${escapeHtml(`${identity.given_name} ${identity.family_name}`)} (RPPS ${escapeHtml(identity.rpps)}, ${escapeHtml(identity.label)})</button></form>`,
    )
    .join('\n');
  const reason = details.prompt.name === 'login' ? '' : `<p>${escapeHtml(details.prompt.name)}</p>`;
  return send(
    res,
    200,
    page(
      'Pro Santé Connect (bac à sable local)',
      `${reason}<p>Choisissez l'identité de test avec laquelle vous connecter (e-CPS simulée) :</p>${buttons}
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Annuler</button></form>`,
    ),
  );
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (control && url.pathname === '/__sandbox/mode' && req.method === 'POST') {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const asked = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      mode = { ...NORMAL, ...asked };
      return send(res, 200, JSON.stringify(mode), 'application/json');
    }
    if (url.pathname === '/.well-known/wallet-openid-configuration') {
      req.url = `/.well-known/openid-configuration${url.search}`; // PSC's own name for it
    }
    if (req.url.startsWith('/.well-known/openid-configuration') && mode.discovery !== 'ok') {
      if (mode.discovery === 'broken') return send(res, 200, '<html>Maintenance</html>');
      if (mode.discovery === 'error') return send(res, 503, 'Service Unavailable', 'text/plain');
    }
    const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|abort))?$/);
    if (match) return await interaction(req, res, match[1], match[2]);
    return callback(req, res);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) send(res, 500, page('Erreur', `<p>${escapeHtml(error.message)}</p>`));
  }
});

console.log(`PSC sandbox listening on ${issuer}`);
