// Launches headless Chromium for tests, with the flags this closed network needs.
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';
import { ensureChromium } from './find-chromium.js';

export const CHROMIUM_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-gpu',
];

/**
 * `hostMap` resolves made-up hostnames (e.g. `www.shop.test`) to 127.0.0.1 so cookie
 * domains can be tested on real registrable domains.
 */
export async function launchBrowser(opts: { hostMap?: string[] } & LaunchOptions = {}): Promise<Browser> {
  const { hostMap = [], ...launch } = opts;
  const args = [...CHROMIUM_ARGS];
  if (hostMap.length) args.push(`--host-resolver-rules=${hostMap.map((h) => `MAP ${h} 127.0.0.1`).join(',')}`);
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? ensureChromium(),
    headless: true,
    chromiumSandbox: false,
    args,
    ...launch,
  });
}
