// Every standard build of t.js: within the 2,048 B gzip budget, and on a page without
// anything to detect, the spine's behaviour alone (one PageView, nothing read, nothing added).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ROOT, VARIANTS, buildCustom, expectNoCookieOrStorageRead, expectNoPageErrors, gzipSize, names, useHarness } from './support.js';

const h = useHarness();

describe('t.js builds', () => {
  test('each standard build stays within 2,048 B gzip', () => {
    const sizes = VARIANTS.map((v) => {
      const code = readFileSync(join(ROOT, 'dist', v));
      const br = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
      return { build: v, raw: code.length, gzip: gzipSize(code), brotli: br };
    });
    console.table(sizes);
    for (const s of sizes) expect(s.gzip, s.build).toBeLessThanOrEqual(2048);
  });

  test('for the record: one build with every detector does not fit', () => {
    const all = buildCustom(['shopify', 'shopify_thankyou', 'woo', 'jsonld', 'datalayer', 'forms', 'search_page', 'declared', 'pixels', 'mirror']);
    console.log(`every detector in one build: ${all.length} B raw, ${gzipSize(all)} B gzip`);
    expect(gzipSize(all)).toBeGreaterThan(2048);
  });

  for (const variant of VARIANTS) {
    test(`${variant}: a plain page gets one PageView; no cookie, storage or new global`, async () => {
      const page = '<!doctype html><title>About us</title><script>window.__before = Object.getOwnPropertyNames(window)</script><!--TRAKVO--><p>Hello</p>';
      const opened = await h.open({ fixture: page, path: '/pages/about', variant });
      expect(names(await h.events(opened.site, 1))).toEqual(['PageView']);
      await expectNoCookieOrStorageRead(opened.page);
      const added = await opened.page.evaluate(() =>
        Object.getOwnPropertyNames(window).filter((k) => k !== '__before' && !(window as unknown as { __before: string[] }).__before.includes(k)),
      );
      expect(added).toEqual(['trakvo']);
      await expectNoPageErrors(opened.page);
    });
  }
});
