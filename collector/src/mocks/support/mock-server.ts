// What every platform mock shares and no platform knows about: the scripted answers a test
// queues, the log of what was received, reading body-parser failures, and serving the
// router on 127.0.0.1. The platform's checks and answers stay in the mock's own file.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler, type Response, type Router } from 'express';
import { isObject } from './values.js';

export interface ScriptedResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What a platform mock offers a test: its router, the log of what it received, scripted answers. */
export interface PlatformMock<R> {
  router: Router;
  received: R[];
  /** Answer the next requests with these, in order, one per request, before any checks. */
  script(responses: ScriptedResponse[]): void;
  /** Forgets what was received and scripted (and the mock's own state, such as ids it has seen). */
  reset(): void;
}

/** The log of what a mock received, and the answers a test scripted for it. */
export interface ScriptedLog<R> extends Omit<PlatformMock<R>, 'router'> {
  /** Sends the next scripted answer and returns true, or returns false when none is left. */
  answerScripted(res: Response): boolean;
  /** `GET /_received`: the log as JSON. */
  listReceived: RequestHandler;
}

/** A new, empty log; `onReset` forgets the mock's own state (seen ids, other logs) on reset. */
export function createScriptedLog<R>(onReset?: () => void): ScriptedLog<R> {
  const received: R[] = [];
  const scripted: ScriptedResponse[] = [];
  return {
    received,
    script(responses) {
      scripted.push(...responses);
    },
    reset() {
      received.length = 0;
      scripted.length = 0;
      onReset?.();
    },
    answerScripted(res) {
      const next = scripted.shift();
      if (!next) return false;
      res.status(next.status).set(next.headers ?? {});
      if (typeof next.body === 'string') res.send(next.body);
      else res.json(next.body);
      return true;
    },
    listReceived(_req, res) {
      res.json(received);
    },
  };
}

/**
 * Body-parser failures (malformed JSON, too large) answered in the platform's shape by
 * `answer`, given the parser's 4xx status (400 when it has none) and its message, if any.
 */
export function bodyParseErrors(answer: (res: Response, status: number, message: string | undefined) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = isObject(err) && typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 400;
    answer(res, status, err instanceof Error ? err.message : undefined);
  };
}

export interface MockServer {
  /** Base URL to use as the destination's `baseUrl`, e.g. http://127.0.0.1:40123 */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `router` on 127.0.0.1 (a random free port unless `port` is given); requests it does
 * not handle go to `notFound`.
 */
export async function startMockServer(router: Router, notFound: RequestHandler, port?: number): Promise<MockServer> {
  const app = express();
  app.disable('x-powered-by');
  app.use(router);
  app.use(notFound);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port ?? 0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A mock (without its router, which the server now runs) and the server running it. */
export type RunningMock<M extends { router: Router }> = Omit<M, 'router'> & MockServer;

/** Runs a mock on its own server: `startMockServer` for its router, its controls as they are. */
export async function serveMock<M extends { router: Router }>(mock: M, notFound: RequestHandler, port?: number): Promise<RunningMock<M>> {
  const { router, ...controls } = mock;
  return { ...controls, ...(await startMockServer(router, notFound, port)) };
}
