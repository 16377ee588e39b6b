// The one list of destination types. Adding a platform = its file + one line here.
import type { Destination } from './types.js';
import { metaDestination } from './meta.js';

export const DESTINATIONS: Record<string, Destination<any>> = {
  meta: metaDestination,
};

export function destinationFor(type: string): Destination<any> {
  const d = DESTINATIONS[type];
  if (!d) throw new Error(`unknown destination type "${type}"`);
  return d;
}
