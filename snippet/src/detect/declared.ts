// Events a merchant declares in HTML, no JavaScript: data-trakvo-event="Lead" on a form
// (sent on submit, with the form's email) or on any other element (sent on click), with
// props from its other data-trakvo-* attributes: data-trakvo-value="49.90" → value,
// data-trakvo-content-ids="sku-1" → content_ids. Never switched off by data-no-detect.
import type { Bag, Props } from '../types.js';
import { detected } from './gate.js';
import { emailIn } from './lead.js';

const EVENT = 'data-trakvo-event';

function declared(el: Bag, props: Props): void {
  [].forEach.call(el.attributes, (a: Attr) => {
    if (!a.name.indexOf('data-trakvo-') && a.name != EVENT) props[a.name.slice(12).replace(/-/g, '_')] = a.value;
  });
  detected(el.getAttribute(EVENT), props, 1);
}

export const declaredSubmit = (e: Bag): unknown =>
  e.target.hasAttribute(EVENT) && declared(e.target, { email: emailIn(e.target) });

export const declaredClick = (e: Bag): void => {
  const el = e.target.closest('[' + EVENT + ']');
  if (el.tagName != 'FORM') declared(el, {});
};
