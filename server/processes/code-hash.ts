import { createHash } from 'node:crypto';

/** Hex SHA-256 of the code's UTF-8 bytes: what an approval names. */
export function codeSha256(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}
