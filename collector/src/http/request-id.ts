// Request ids: every request gets one (the caller's `X-Request-Id` when it is a sane token,
// a new UUID otherwise), echoed in the response, and a child logger that stamps it on every
// line (`res.locals.log`). One access line per request, without query string, body or
// headers, so no personal data (emails in URLs, cookies, IPs) can reach the log.
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../log.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** Accepted incoming ids: short, printable, no spaces (a proxy's id, a trace id). */
const SANE_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

declare global {
  namespace Express {
    interface Locals {
      /** Logger bound to this request's id. */
      log: Logger;
      requestId: string;
    }
  }
}

export interface RequestIdOptions {
  logger: Logger;
  /** Use the caller's X-Request-Id (default true; turn off when clients are untrusted). */
  trustIncoming?: boolean;
  /** Log one line per finished request (default true). */
  accessLog?: boolean;
}

export function requestId(opts: RequestIdOptions): RequestHandler {
  const trustIncoming = opts.trustIncoming ?? true;
  const accessLog = opts.accessLog ?? true;
  return (req, res, next) => {
    const incoming = req.get(REQUEST_ID_HEADER);
    const id = trustIncoming && incoming !== undefined && SANE_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.locals.log = opts.logger.child({ req_id: id });
    res.set(REQUEST_ID_HEADER, id);
    if (accessLog) {
      const started = performance.now();
      // The path only: a query string may carry an email or a click id.
      const path = req.originalUrl.split('?')[0] ?? '';
      res.on('finish', () => {
        const status = res.statusCode;
        const line = { method: req.method, path, status, ms: Math.round((performance.now() - started) * 10) / 10 };
        if (status >= 500) res.locals.log.error(line, 'request failed');
        else if (status >= 400) res.locals.log.warn(line, 'request refused');
        else res.locals.log.info(line, 'request');
      });
    }
    next();
  };
}
