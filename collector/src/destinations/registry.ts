// The one list of destination types. Adding a platform = its file + one line here.
import type { Destination } from './types.js';
import { ga4Destination } from './ga4.js';
import { linkedinDestination } from './linkedin.js';
import { metaDestination } from './meta.js';
import { microsoftDestination } from './microsoft.js';
import { pinterestDestination } from './pinterest.js';
import { redditDestination } from './reddit.js';
import { snapchatDestination } from './snapchat.js';
import { tiktokDestination } from './tiktok.js';
import { tracifyDestination } from './tracify.js';
import { webhookDestination } from './webhook.js';

export const DESTINATIONS: Record<string, Destination<any>> = {
  meta: metaDestination,
  tiktok: tiktokDestination,
  ga4: ga4Destination,
  pinterest: pinterestDestination,
  snapchat: snapchatDestination,
  reddit: redditDestination,
  linkedin: linkedinDestination,
  microsoft: microsoftDestination,
  tracify: tracifyDestination,
  webhook: webhookDestination,
};

export function destinationFor(type: string): Destination<any> {
  const d = DESTINATIONS[type];
  if (!d) throw new Error(`unknown destination type "${type}"`);
  return d;
}
