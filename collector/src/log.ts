// Structured logs (pino). Personal data never reaches a log line: we never log bodies,
// and these paths are redacted as a second line of defence.
import { pino, type Logger } from 'pino';

const PII_PATHS = [
  'email', 'phone', 'first_name', 'last_name', 'city', 'state', 'zip', 'date_of_birth', 'ip', 'user_agent',
  '*.email', '*.phone', '*.first_name', '*.last_name', '*.ip', '*.user_agent', '*.accessToken', '*.access_token',
  'req.headers.authorization', 'req.headers.cookie', 'access_token', 'accessToken',
];

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { svc: 'trakvo' }, redact: { paths: PII_PATHS, censor: '[redacted]' } });
}
