// Reads one cookie, only when asked (never at load: every visitor would pay for it).
import { doc } from './globals.js';

export const readCookie = (name: string): string | undefined =>
  (doc.cookie.match('(^|;) ?' + name + '=([^;]*)') || [])[2];
