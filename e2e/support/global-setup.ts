// Runs once before the suite: makes sure a browser exists, so no test file races to install it.
import { ensureChromium } from './find-chromium.js';

export default function setup(): void {
  process.env.CHROMIUM_PATH = ensureChromium();
}
