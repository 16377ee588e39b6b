// Lead: the submit of a form holding an email field (newsletter, contact, quote request)
// that is not a search, login or password form, nor one posting to a cart, checkout,
// account or blog-comment endpoint. The address goes to the collector, which hashes it;
// it never reaches a browser pixel (see pixels.ts).
import type { Bag } from '../types.js';
import { detected } from './gate.js';
import { SEARCH_FIELD } from './search.js';

/** The form's email address, if it has an email field. */
export const emailIn = (form: Bag): string | undefined => (form.querySelector('[type=email]') || {}).value;

export const leadSubmit = (e: Bag): unknown => {
  const form = e.target;
  const email = emailIn(form);
  return (
    email != null &&
    !form.querySelector('[type=password],' + SEARCH_FIELD) &&
    !/cart|checkout|account|login|comment/.test(form.getAttribute('action')) &&
    detected('Lead', { email })
  );
};
