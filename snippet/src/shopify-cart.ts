// Shopify: copies the visitor's first-party ids into the cart's attributes with one
// POST /cart/update.js, so the order webhook (note_attributes) carries them and the
// server-side Purchase matches the ad click. Attribute names are the cookie names:
// _tk_vid, _tk_sid, _fbp, _fbc, _ttp, _ga and _ga_<container>, and the click ids the
// collector keeps: _tk_gclid, _tk_ttclid, _tk_msclkid, _tk_epik, _tk_sccid, _tk_rdt_cid,
// _tk_li_fat_id. Runs after an AJAX add succeeded and on the cart page, at most once per
// page, and only when the ids or the cart (its `cart` cookie) changed since this tab last
// wrote them (a sessionStorage memo, read only then).
import { readCookie } from './cookie.js';
import { detectorOn } from './config.js';
import { doc } from './globals.js';
import { consent } from './track.js';

let written: unknown;

export function shareIdsWithCart(): void {
  if (!written && detectorOn('attributes')) {
    written = 1;
    // Form-encoded attributes[<name>]=<value>, as the Ajax Cart API takes them.
    const body = new URLSearchParams();
    doc.cookie.replace(/(?:^|; )(_(?:tk_\w+|fb[pc]|ttp|ga\w*))=([^;]*)/g, (_, name, value) => (body.append('attributes[' + name + ']', value), ''));
    // The marketing consent the page declared ("1" granted, "0" refused), which the order
    // webhook honours; without it the webhook applies the site's default.
    if (consent) body.append('attributes[_tk_consent]', '' + consent.m);
    const memo = readCookie('cart') + '' + body;
    // Nothing to write without ids (no cookies yet, or no consent for them).
    if (body + '' && sessionStorage._tk_cart != memo) {
      sessionStorage._tk_cart = memo;
      fetch('/cart/update.js', { method: 'POST', body }).catch(() => {});
    }
  }
}
