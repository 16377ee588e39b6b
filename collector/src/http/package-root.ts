// Finds the package's root directory, from source (collector/src/…) or from the build
// (build/collector/src/…), so built assets like dist/t.js are found either way.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'trakvo') return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the trakvo package root');
    dir = up;
  }
}
