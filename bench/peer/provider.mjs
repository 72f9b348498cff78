// The benchmark peer: panva's oidc-provider (OpenID Certified), configured like govwallet.
//
// Same signing algorithms (RS256 ID tokens, ES256 JWT access tokens), same clients,
// its default in-memory storage (govwallet persists every token; this one does not),
// one Node.js worker per core through `node:cluster`, like govwallet's uvicorn workers.
//
// Environment: PORT, WORKERS, PEER_CONFIG (JSON: {clients: [...], userinfo_token, scopes}).
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import process from 'node:process';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 9100);
const workers = Number(process.env.WORKERS || 2);
const config = JSON.parse(process.env.PEER_CONFIG || '{}');

if (cluster.isPrimary) {
  // Keys are made once and shared with the workers, so every worker signs alike.
  const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const keys = JSON.stringify([{ ...rsa, alg: 'RS256', use: 'sig', kid: 'peer-rs256' },
    { ...ec, alg: 'ES256', use: 'sig', kid: 'peer-es256' }]);
  for (let i = 0; i < workers; i += 1) cluster.fork({ PEER_KEYS: keys });
  cluster.on('exit', () => process.exit(1));
} else {
  const issuer = `http://127.0.0.1:${port}`;
  const scopes = config.scopes || ['openid', 'profile', 'offline_access'];
  const provider = new Provider(issuer, {
    clients: config.clients || [],
    jwks: { keys: JSON.parse(process.env.PEER_KEYS) },
    scopes,
    claims: { openid: ['sub'], profile: ['name', 'birthdate', 'gender'] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, name: 'Bench Citizen', birthdate: '1990-01-01', gender: 'female' }),
    }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, client) => (client.grantTypes.includes('client_credentials')
          ? 'urn:govwallet:bench:api' : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: scopes.join(' '),
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, Grant: 3600 },
  });

  // A userinfo/introspection token known to every worker (fixed ids, in-memory store).
  if (config.userinfo_token) {
    const { client_id: clientId, account, token } = config.userinfo_token;
    const grant = new provider.Grant({ jti: `grant-${token}`, accountId: account, clientId });
    grant.addOIDCScope('openid profile');
    await grant.save();
    const at = new provider.AccessToken({
      jti: token, accountId: account, clientId, grantId: grant.jti, scope: 'openid profile', gty: 'authorization_code',
      // Valid for the whole run: scenario 3 starts minutes after the peer (a full run
      // outlasts the usual 600 s; an expired token would make every answer a 401).
      expiresIn: 86400,
    });
    at.format = 'opaque';
    await at.save();
  }
  provider.listen(port, '127.0.0.1');
}
