// Finds a Chromium that Playwright can drive: Playwright's own download when the user has
// one, else the system's (Debian's /usr/bin/chromium), else installs Debian's package.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const SYSTEM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH && existsSync(process.env.CHROMIUM_PATH)) return process.env.CHROMIUM_PATH;
  try {
    const own = chromium.executablePath();
    if (own && existsSync(own)) return own;
  } catch {
    // playwright-core knows the path but has no browser downloaded: fall through.
  }
  return SYSTEM_CANDIDATES.find((p) => existsSync(p));
}

/** Returns a Chromium path, installing Debian's package when none is present. */
export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  const asRoot = process.getuid?.() === 0;
  const run = (args: string[]) =>
    execFileSync(asRoot ? args[0]! : 'sudo', asRoot ? args.slice(1) : args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  console.log('[e2e] no Chromium found; installing Debian package "chromium"…');
  run(['apt-get', 'update']);
  run(['apt-get', 'install', '-y', 'chromium']);
  const installed = findChromium();
  if (!installed) throw new Error('Chromium could not be found or installed (set CHROMIUM_PATH)');
  return installed;
}
