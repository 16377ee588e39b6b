import { createHash } from 'node:crypto';

/** Hex SHA-256, the form the platforms get hashed identity in. */
export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
