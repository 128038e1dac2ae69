// A real OpenID Connect provider for tests: panva's oidc-provider (OpenID certified) with its
// development login and consent pages, which accept any password and take the login as the
// account id. Started by `testing::OidcTestProvider`; configured by environment variables:
//   OIDC_PORT              the port to listen on (127.0.0.1)
//   OIDC_REDIRECT_URIS     JSON array of the client's callback URLs
//   OIDC_ACCOUNTS          JSON object: account id -> its claims
//   OIDC_ACCESS_TOKEN_TTL  seconds an access token lives (default 3600)
//   OIDC_TAMPER            "id_token_signature": flip a byte of every ID token's signature;
//                          "expired_id_token": ID tokens live 1 s and reach the client 2.5 s late
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'testclient',
    client_secret: 'testsecret',
    redirect_uris: JSON.parse(process.env.OIDC_REDIRECT_URIS),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  // Its default, 15 s, would keep an expired access token working that long.
  clockTolerance: 0,
  ttl: {
    AccessToken: Number(process.env.OIDC_ACCESS_TOKEN_TTL || 3600),
    IdToken: process.env.OIDC_TAMPER === 'expired_id_token' ? 1 : 3600,
  },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    return claims && { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-cookie-key'] },
});

if (process.env.OIDC_TAMPER === 'id_token_signature') {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.body && typeof ctx.body.id_token === 'string') {
      const [header, payload, signature] = ctx.body.id_token.split('.');
      const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
      ctx.body = { ...ctx.body, id_token: `${header}.${payload}.${flipped}` };
    }
  });
}

if (process.env.OIDC_TAMPER === 'expired_id_token') {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token') {
      await new Promise((resolve) => setTimeout(resolve, 2500));
    }
  });
}

provider.listen(port, '127.0.0.1', () => console.log(`listening on ${issuer}`));
