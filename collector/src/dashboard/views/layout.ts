// The page shell and the small pieces every dashboard page shares. All markup goes through
// `html` (escaping); scripts and styles are files under /static (the CSP allows no inline).
import { MATCH_QUALITY_DISCLAIMER } from '../../quality/match-quality.js';
import { html, query, type HtmlValue, type SafeHtml } from '../html.js';
import type { DeliveryState, EventRow, RowDelivery } from '../queries.js';

export interface PageContext {
  /** Where the dashboard is mounted, e.g. `/t/admin` (no trailing slash). */
  base: string;
  csrf: string;
  /** Configured site ids. */
  sites: string[];
  /** The site the views are narrowed to, if any. */
  site?: string;
}

export type Section = 'overview' | 'events' | 'dead' | 'setup';

export interface PageOptions {
  title: string;
  section?: Section;
  /** Pages with charts load uPlot. */
  charts?: boolean;
  /** data-page on <body>, read by dashboard.js. */
  page: string;
}

/** A link inside the dashboard, keeping the site filter. */
export function href(pc: PageContext, path: string, params: Record<string, string | number | undefined> = {}): string {
  return `${pc.base}${path}${query({ site: pc.site, ...params })}`;
}

export function eventHref(pc: PageContext, site_id: string, event_id: string): string {
  return `${pc.base}/events/${encodeURIComponent(site_id)}/${encodeURIComponent(event_id)}${query({ site: pc.site })}`;
}

function nav(pc: PageContext, section: Section | undefined): SafeHtml {
  const item = (s: Section, path: string, label: string) =>
    html`<a href="${href(pc, path)}"${s === section ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<nav class="sections">
    ${item('overview', '/', 'Overview')}
    ${item('events', '/events', 'Events')}
    ${item('dead', '/dead', 'Dead letters')}
    ${item('setup', '/setup', 'Setup')}
  </nav>`;
}

function sitePicker(pc: PageContext): HtmlValue {
  if (pc.sites.length < 2) return null;
  return html`<form class="site-picker" method="get">
    <label>Site <select name="site" data-autosubmit>
      <option value="">all sites</option>
      ${pc.sites.map((s) => html`<option value="${s}"${s === pc.site ? html` selected` : ''}>${s}</option>`)}
    </select></label>
    <noscript><button type="submit">Show</button></noscript>
  </form>`;
}

export function page(pc: PageContext, opts: PageOptions, body: HtmlValue): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${pc.csrf}">
<title>${opts.title} · Trakvo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${pc.base}/static/dashboard.css">
${opts.charts ? html`<link rel="stylesheet" href="${pc.base}/static/uplot.min.css">
<script src="${pc.base}/static/uplot.iife.min.js" defer></script>` : ''}
<script src="${pc.base}/static/dashboard.js" defer></script>
</head>
<body data-page="${opts.page}" data-base="${pc.base}" data-site="${pc.site ?? ''}">
<header class="top">
  <a class="brand" href="${href(pc, '/')}"><span class="logo" aria-hidden="true"></span>Trakvo</a>
  ${nav(pc, opts.section)}
  <div class="top-right">
    ${sitePicker(pc)}
    <form method="post" action="${pc.base}/logout" class="logout">
      <input type="hidden" name="_csrf" value="${pc.csrf}">
      <button type="submit" class="link">Log out</button>
    </form>
  </div>
</header>
<main>
${body}
</main>
</body>
</html>`.value;
}

/** A bare page (login, errors) without navigation. */
export function barePage(base: string, title: string, body: HtmlValue): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Trakvo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/static/dashboard.css">
</head>
<body class="bare">
<main>${body}</main>
</body>
</html>`.value;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** UTC text, localized in the browser by dashboard.js (`data-ts`). */
export function time(ms: number | null | undefined): SafeHtml {
  if (ms === null || ms === undefined) return html`<span class="muted">—</span>`;
  const d = new Date(ms);
  const text = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  return html`<time datetime="${d.toISOString()}" data-ts="${ms}">${text}</time>`;
}

export function stateBadge(state: DeliveryState | string, deliveryId?: number): SafeHtml {
  return html`<span class="badge s-${state}"${deliveryId !== undefined ? html` data-delivery="${deliveryId}"` : ''}>${state}</span>`;
}

function destinationChip(d: RowDelivery): SafeHtml {
  const title = d.error ? `${d.state}: ${d.error}` : `${d.state}, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`;
  return html`<span class="chip s-${d.state}" data-delivery="${d.id}" title="${title}"><span class="dot"></span>${d.destination}</span>`;
}

export function qualityBand(score: number): 'low' | 'mid' | 'high' {
  return score < 4 ? 'low' : score < 7 ? 'mid' : 'high';
}

export function quality(score: number | null): SafeHtml {
  if (score === null) return html`<span class="muted">—</span>`;
  return html`<span class="quality q-${qualityBand(score)}" title="${MATCH_QUALITY_DISCLAIMER}">${score.toFixed(1)}</span>`;
}

export function money(value: number | null, currency: string | null): string {
  if (value === null) return '';
  return `${value.toFixed(2)}${currency ? ` ${currency}` : ''}`;
}

/** One event row; dashboard.js builds the same structure for rows arriving live. */
export function eventRow(pc: PageContext, r: EventRow): SafeHtml {
  return html`<tr data-key="${r.key}" data-received="${r.received_at}">
  <td class="when">${time(r.received_at)}</td>
  <td class="name"><a href="${eventHref(pc, r.site_id, r.event_id)}">${r.event_name}</a><div class="sub mono">${r.event_id}</div></td>
  <td class="src">${r.source}${pc.sites.length > 1 ? html`<div class="sub">${r.site_id}</div>` : ''}</td>
  <td class="order">${r.order_id ?? ''}<div class="sub">${money(r.value, r.currency)}</div></td>
  <td class="q">${quality(r.quality)}</td>
  <td class="dests">${r.deliveries.length ? r.deliveries.map(destinationChip) : html`<span class="muted">none</span>`}</td>
</tr>`;
}

export function eventTable(pc: PageContext, rows: EventRow[], opts: { live: boolean; id?: string; empty: string }): SafeHtml {
  return html`<div class="table-wrap"><table class="events">
  <thead><tr><th>Received</th><th>Event</th><th>Source</th><th>Order · value</th><th title="${MATCH_QUALITY_DISCLAIMER}">Match quality*</th><th>Destinations</th></tr></thead>
  <tbody${opts.id ? html` id="${opts.id}"` : ''} data-live="${opts.live ? '1' : '0'}" data-multisite="${pc.sites.length > 1 ? '1' : '0'}">
  ${rows.map((r) => eventRow(pc, r))}
  </tbody>
</table>
<p class="empty"${rows.length ? html` hidden` : ''}>${opts.empty}</p>
</div>`;
}

export function csrfField(pc: PageContext): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${pc.csrf}">`;
}

export function flash(message: string | undefined): HtmlValue {
  return message ? html`<p class="flash" role="status">${message}</p>` : null;
}

export function qualityNote(): SafeHtml {
  return html`<p class="note">* Match quality: ${MATCH_QUALITY_DISCLAIMER}</p>`;
}
