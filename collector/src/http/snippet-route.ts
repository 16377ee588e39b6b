// GET /t.js: the built snippet, pre-compressed once (brotli, gzip), with a strong ETag.
// Cached for an hour and then revalidated, so a new release reaches pages within the hour
// while repeat visitors pay nothing but a conditional request.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';
import { packageRoot } from './package-root.js';

export interface SnippetAsset {
  raw: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
}

export function loadSnippet(file = join(packageRoot(), 'dist', 't.js')): SnippetAsset {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch {
    throw new Error(`snippet not built: ${file} is missing (run "npm run build")`);
  }
  return {
    raw,
    gzip: gzipSync(raw, { level: 9 }),
    br: brotliCompressSync(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }),
    etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 22)}"`,
  };
}

/** Brotli when the client takes it (smallest), else gzip, else the plain file. */
/** The built snippets: `t.js` and its per-platform variants (`t.shopify.js`, `t.woo.js`, …). */
export function loadSnippets(dir = join(packageRoot(), 'dist')): Map<string, SnippetAsset> {
  const names = readdirSync(dir).filter((f) => SNIPPET_FILE.test(f));
  if (!names.includes('t.js')) throw new Error(`snippet not built: ${join(dir, 't.js')} is missing (run "npm run build")`);
  return new Map(names.map((name) => [name, loadSnippet(join(dir, name))]));
}

/** `t.js` or `t.<variant>.js`. */
export const SNIPPET_FILE = /^t(\.[a-z]+)?\.js$/;

function pickEncoding(req: Request): 'br' | 'gzip' | undefined {
  if (req.acceptsEncodings('br') === 'br') return 'br';
  if (req.acceptsEncodings('gzip') === 'gzip') return 'gzip';
  return undefined;
}

/** Serves `GET /t.js` and `GET /t.<variant>.js`; anything else falls through. */
export function snippetRoute(assets: Map<string, SnippetAsset>): RequestHandler {
  return (req: Request, res: Response, next) => {
    const asset = assets.get(req.path.slice(1));
    if (!asset) return next();
    res.set({
      'Content-Type': 'application/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=3600, stale-while-revalidate=86400',
      ETag: asset.etag,
      Vary: 'Accept-Encoding',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    const encoding = pickEncoding(req);
    const body = encoding ? asset[encoding] : asset.raw;
    if (encoding) res.set('Content-Encoding', encoding);
    res.set('Content-Length', String(body.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : body);
  };
}
