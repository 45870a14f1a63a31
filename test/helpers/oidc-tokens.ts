import { randomUUID } from 'node:crypto';
import {
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWTPayload,
} from 'jose';
import { COG_SCOPES, type TestIssuer } from './oidc-provider.js';

/** The claims a real access token of the test issuer for `audience` has, valid now. */
export function accessClaims(issuer: TestIssuer, audience: string): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer.issuer,
    sub: 'agent',
    client_id: 'agent',
    aud: audience,
    scope: COG_SCOPES,
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
  };
}

/** Signed with the issuer's own key and kid: only the claims decide whether it is valid. */
export function signedByIssuer(issuer: TestIssuer, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: issuer.kid, typ: 'at+jwt' })
    .sign(issuer.signingKey);
}

/** `alg: none`: no signature at all. */
export function unsignedToken(claims: JWTPayload): string {
  return new UnsecuredJWT(claims).encode();
}

/**
 * HS256 with the issuer's *public* key (its SPKI PEM) as the HMAC secret, under the
 * issuer's kid: the classic key-confusion forgery, which anyone holding the JWKS can make.
 */
export async function hs256WithPublicKey(issuer: TestIssuer, claims: JWTPayload): Promise<string> {
  const pub = await importJWK(issuer.publicJwk, 'RS256', { extractable: true });
  const pem = await exportSPKI(pub as CryptoKey);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: issuer.kid, typ: 'at+jwt' })
    .sign(new TextEncoder().encode(pem));
}

/** Signed with a key of our own under a kid the issuer never published. */
export async function unknownKidToken(claims: JWTPayload): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'a-key-nobody-published', typ: 'at+jwt' })
    .sign(privateKey);
}
