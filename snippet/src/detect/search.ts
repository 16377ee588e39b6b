// Search: the submit of a search form (Shopify's q, WordPress/WooCommerce's s, any
// type=search field), or landing on a results page (?s=…, or ?q=… under a /search path)
// from another site; arriving from this site's own form was counted at its submit.
import { doc, loc } from '../globals.js';
import type { Bag } from '../types.js';
import { detected } from './gate.js';

export const SEARCH_FIELD = '[type=search],[name=q],[name=s]';

const searched = (term: unknown): unknown => term && detected('Search', { search_string: term });

export const searchSubmit = (e: Bag): unknown => searched(e.target.querySelector(SEARCH_FIELD).value);

export function searchPage(): void {
  const query = new URLSearchParams(loc.search);
  if (doc.referrer.indexOf(loc.origin)) searched(query.get('s') || (/search/.test(loc.pathname) && query.get('q')));
}
