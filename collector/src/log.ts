// Structured logs (pino). Personal data never reaches a log line: we never log bodies or
// query strings. Two lines of defence behind that rule:
//  1. known fields that hold personal data or secrets are redacted by path;
//  2. every finished line is scanned and anything shaped like an email address (also
//     URL-encoded) is replaced, wherever it hid (an error message, a URL, a header).
import { pino, type DestinationStream, type Logger } from 'pino';

const PII_KEYS = [
  // Cleartext input names (API and snippet) and the canonical hashed keys.
  'email', 'phone', 'first_name', 'last_name', 'city', 'state', 'zip', 'date_of_birth', 'gender',
  'em', 'ph', 'ph_e164', 'fn', 'ln', 'ct', 'st', 'zp', 'db', 'ge', 'external_id',
  // Kept only until delivery ends; never logged.
  'ip', 'user_agent', 'client_ip_address', 'client_user_agent',
  // Whole records that carry any of the above.
  'user', 'user_data', 'body',
  // Secrets.
  'accessToken', 'access_token', 'secret', 'token', 'password', 'authorization',
];

const PII_PATHS = [
  ...PII_KEYS,
  ...PII_KEYS.map((k) => `*.${k}`),
  ...PII_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-forwarded-for"]', 'req.headers["x-real-ip"]',
  'res.headers["set-cookie"]', 'headers.cookie', 'headers.authorization',
];

/** An email address, plain or with `@` URL-encoded; local part and domain as seen in URLs. */
const EMAIL_LIKE = /[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

/** `line` with every email-shaped string replaced. */
export function scrubEmails(line: string): string {
  return line.replace(EMAIL_LIKE, '[email]');
}

/** A destination that writes each line with emails scrubbed to `dest` (stdout by default). */
function scrubbing(dest: DestinationStream): DestinationStream {
  const inner = dest as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void };
  return Object.assign(
    {
      write(line: string) {
        inner.write(line.includes('@') || line.includes('%40') ? scrubEmails(line) : line);
      },
    },
    // logger.flush() reaches the real stream.
    inner.flush ? { flush: (cb?: (err?: Error) => void) => inner.flush!(cb) } : {},
    inner.flushSync ? { flushSync: () => inner.flushSync!() } : {},
  );
}

export type { Logger };

export interface LoggerOptions {
  /** Where lines go (tests capture them); default stdout. */
  destination?: DestinationStream;
}

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', opts: LoggerOptions = {}): Logger {
  const dest = opts.destination ?? pino.destination(process.stdout.fd ?? 1);
  return pino(
    { level, base: { svc: 'trakvo' }, redact: { paths: PII_PATHS, censor: '[redacted]' } },
    scrubbing(dest),
  );
}
