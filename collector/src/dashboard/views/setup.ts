// Setup: for each site, what to paste where: the snippet tag for the shop's pages and the
// Shopify custom pixel, each with a copy button; plus the site's origins and destinations.
import type { SiteConfig } from '../../config/schema.js';
import { html, type SafeHtml } from '../html.js';
import { page, type PageContext } from './layout.js';

export interface SiteSetup {
  site: SiteConfig;
  /** The snippet tag for the shop's pages. */
  snippetTag: string;
  /** The Shopify custom pixel for this site: checkout only (theme runs t.js), and all events. */
  shopifyPixel: { checkoutOnly: string; everything: string } | { error: string };
}

function codeBlock(id: string, code: string, label: string): SafeHtml {
  return html`<div class="code-block">
    <div class="code-head"><span>${label}</span><button type="button" class="copy" data-copy="${id}">Copy</button></div>
    <pre id="${id}"><code>${code}</code></pre>
  </div>`;
}

function siteCard(s: SiteSetup): SafeHtml {
  const id = s.site.id;
  return html`<section class="card" id="site-${id}">
    <div class="card-head"><h2>Site ${id}</h2></div>
    <div class="setup-grid">
      <div>
        <h3>On every page of the shop</h3>
        <p class="muted">Put it in the <code>&lt;head&gt;</code>. It loads asynchronously and sends each event once, with the event id the server side uses too.</p>
        ${codeBlock(`snippet-${id}`, s.snippetTag, 'HTML')}
        <p class="muted">On Shopify, WooCommerce, a dataLayer (GTM) store or a schema.org store, use the build with that platform’s detectors instead of <code>t.js</code>: <code>t.shopify.js</code>, <code>t.woo.js</code>, <code>t.datalayer.js</code> or <code>t.schema.js</code> (same attributes).</p>
        <h3>Shopify: custom pixel</h3>
        ${'error' in s.shopifyPixel
          ? html`<p class="flash bad">${s.shopifyPixel.error}</p>`
          : html`<p class="muted">Checkout pages run no theme script, so t.js never sees them. In Shopify admin → Settings → Customer events → Add custom pixel, paste this, set Customer privacy → Permission to “Not required” (the pixel applies the visitor’s consent itself), save, then Connect. Purchase carries the order-derived event id, so the order webhook’s Purchase counts once.</p>
        ${codeBlock(`shopify-${id}`, s.shopifyPixel.checkoutOnly, 'JavaScript · checkout only, for a theme that runs t.js')}
        <details class="alt"><summary>No t.js in the theme? The pixel for every storefront event too</summary>
          ${codeBlock(`shopify-all-${id}`, s.shopifyPixel.everything, 'JavaScript · all standard events')}
        </details>`}
      </div>
      <div>
        <h3>Pages allowed to send events</h3>
        <ul class="plain">${s.site.allowedOrigins.map((o) => html`<li class="mono">${o}</li>`)}</ul>
        <h3>Destinations</h3>
        <ul class="plain">${s.site.destinations.length
          ? s.site.destinations.map((d) => html`<li><strong>${d.id}</strong> <span class="sub">${d.type}${d.enabled ? '' : ' · disabled'}</span></li>`)
          : html`<li class="muted">none configured</li>`}</ul>
        <h3>Consent</h3>
        <p class="muted">Until the page says otherwise: marketing ${s.site.consentDefault.marketing ? 'granted' : 'denied'}, analytics ${s.site.consentDefault.analytics ? 'granted' : 'denied'}. Global Privacy Control ${s.site.honorGpc ? 'withdraws marketing consent' : 'is ignored'}.</p>
      </div>
    </div>
  </section>`;
}

export function setupPage(pc: PageContext, sites: SiteSetup[]): string {
  return page(pc, { title: 'Setup', section: 'setup', page: 'setup' }, html`${sites.map(siteCard)}`);
}
