// Events: the searchable list (event id or order id) and one event's detail with every
// attempt and the platform's answer. Personal data is hashed at ingest; the IP address,
// kept until delivery ends, is not shown.
import type { CanonicalEvent } from '../../event/schema.js';
import { MATCH_QUALITY_DISCLAIMER, MATCH_SIGNALS, type MatchQuality } from '../../quality/match-quality.js';
import type { AttemptRecord, DeliveryRecord, StoredEvent } from '../../store/types.js';
import { html, type HtmlValue, type SafeHtml } from '../html.js';
import { deliveryState, type EventRow } from '../queries.js';
import { csrfField, eventTable, flash, href, money, page, quality, qualityNote, stateBadge, time, type PageContext } from './layout.js';

export interface EventListData {
  q: string;
  rows: EventRow[];
  /** Link to the next (older) page, if there is one. */
  older?: string;
  /** This is an older page (live rows only go on the newest). */
  paged: boolean;
}

export function eventListPage(pc: PageContext, d: EventListData): string {
  const live = d.q === '' && !d.paged;
  return page(
    pc,
    { title: d.q ? `Search ${d.q}` : 'Events', section: 'events', page: 'events' },
    html`
<section class="card">
  <div class="card-head"><h2>Events</h2>
    <form class="search" method="get" role="search">
      ${pc.site ? html`<input type="hidden" name="site" value="${pc.site}">` : ''}
      <input type="search" name="q" value="${d.q}" placeholder="event id or order id" aria-label="event id or order id" autocomplete="off" spellcheck="false">
      <button type="submit">Search</button>
      ${d.q ? html`<a class="clear" href="${href(pc, '/events')}">clear</a>` : ''}
    </form>
  </div>
  ${d.q ? html`<p class="muted search-info">${d.rows.length ? `${d.rows.length} event${d.rows.length === 1 ? '' : 's'} with event id or order id “${d.q}”` : ''}</p>` : ''}
  ${eventTable(pc, d.rows, { live, id: 'events', empty: d.q ? `No event has the event id or order id “${d.q}”.` : 'No events yet.' })}
  ${d.older ? html`<p class="pager"><a href="${d.older}">Older events →</a></p>` : ''}
</section>
${qualityNote()}`,
  );
}

export interface EventDetailData {
  stored: StoredEvent;
  attempts: AttemptRecord[];
  quality: MatchQuality;
  /** IP and user agent were sent, then removed from the store when delivery ended. */
  networkRemoved: boolean;
  /** Per destination id: its type and our estimate from what it receives. */
  destinations: Map<string, { type: string; quality: MatchQuality }>;
  message?: string;
}

/** What the page shows of its deliveries; dashboard.js refreshes when a live row differs. */
function deliveriesSignature(ds: DeliveryRecord[]): string {
  return ds.map((x) => `${x.delivery_id}:${deliveryState(x)}:${x.attempts}`).join(',');
}

function dl(items: [string, HtmlValue][]): SafeHtml {
  return html`<dl class="facts">${items.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

/** Pretty JSON when the answer is JSON, else the text as is. */
export function prettyAnswer(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function durationText(ms: number | null): string {
  return ms === null ? '' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function attemptRow(a: AttemptRecord): SafeHtml {
  return html`<tr>
    <td class="when">${time(a.at)}</td>
    <td>${a.destination}</td>
    <td>${stateBadge(a.outcome)}</td>
    <td class="num">${a.http_status ?? html`<span class="muted">no answer</span>`}</td>
    <td class="num">${durationText(a.duration_ms)}</td>
    <td class="answer">${a.error ? html`<div class="error-text">${a.error}</div>` : ''}${
      a.response ? html`<details><summary>platform answer</summary><pre>${prettyAnswer(a.response)}</pre></details>` : ''
    }</td>
  </tr>`;
}

function signalsList(q: MatchQuality): SafeHtml {
  const present = new Set<string>(q.signals);
  return html`<ul class="signals">${MATCH_SIGNALS.filter((s) => present.has(s.signal) || ['em', 'ph', 'ip', 'user_agent', 'fbc', 'fbp', 'external_id'].includes(s.signal)).map(
    (s) => html`<li class="${present.has(s.signal) ? 'on' : 'off'}" title="weight ${s.weight}${s.group ? ` (${s.group.replace('_', ' ')}: heaviest counts once)` : ''}">${present.has(s.signal) ? '✓' : '✗'} ${s.label}</li>`,
  )}</ul>`;
}

function shortHash(h: string | undefined): HtmlValue {
  return h ? html`<span class="mono" title="SHA-256, hashed at ingest">${h.slice(0, 12)}…</span>` : undefined;
}

function identity(e: CanonicalEvent, networkRemoved: boolean): SafeHtml {
  const u = e.user;
  const ids = Object.entries(e.ids).filter(([, v]) => v) as [string, string][];
  return dl([
    ['email', shortHash(u.em)],
    ['phone', shortHash(u.ph ?? u.ph_e164)],
    ['customer id', shortHash(u.external_id)],
    ['name', u.fn || u.ln ? shortHash(u.fn ?? u.ln) : undefined],
    ['address', u.ct || u.zp || u.st || u.country ? 'hashed fields present' : undefined],
    ['IP address', e.ip ? 'sent (kept until delivery ends, never shown here)' : networkRemoved ? 'sent, removed when delivery ended' : html`<span class="muted">none</span>`],
    ['user agent', e.user_agent ?? (networkRemoved ? 'sent, removed when delivery ended' : undefined)],
    ...ids.map(([k, v]): [string, HtmlValue] => [k, html`<span class="mono">${v}</span>`]),
  ]);
}

export function eventDetailPage(pc: PageContext, d: EventDetailData): string {
  const e = d.stored.event;
  const c = e.custom;
  const dead = d.stored.deliveries.filter((x) => x.status === 'dead');
  const replayAction = `${pc.base}/events/${encodeURIComponent(e.site_id)}/${encodeURIComponent(e.event_id)}/replay`;
  return page(
    pc,
    { title: `${e.event_name} ${e.event_id}`, section: 'events', page: 'event' },
    html`
<p class="crumbs"><a href="${href(pc, '/events')}">Events</a> / <span class="mono">${e.event_id}</span></p>
<div class="event-head" id="event" data-key="${e.site_id}/${e.event_id}" data-sig="${deliveriesSignature(d.stored.deliveries)}" data-api="${pc.base}/api/events/${encodeURIComponent(e.site_id)}/${encodeURIComponent(e.event_id)}">
  <h1>${e.event_name}</h1>
  <div class="event-meta"><span class="mono">${e.event_id}</span> · ${e.source} · site ${e.site_id} · received ${time(d.stored.received_at)}</div>
</div>
${flash(d.message)}

<div class="detail-grid">
  <section class="card">
    <div class="card-head"><h2>Event</h2></div>
    ${dl([
      ['event time', time(e.event_time * 1000)],
      ['page', e.url],
      ['referrer', e.referrer],
      ['title', e.title],
      ['order id', c.order_id],
      ['value', money(c.value ?? null, c.currency ?? null)],
      ['items', c.contents?.length ? c.contents.map((x) => `${x.id}${x.quantity ? ` × ${x.quantity}` : ''}`).join(', ') : c.content_ids?.join(', ')],
      ['consent', `marketing ${e.consent.marketing ? 'yes' : 'no'}, analytics ${e.consent.analytics ? 'yes' : 'no'}`],
    ])}
  </section>

  <section class="card">
    <div class="card-head"><h2>Match quality <span class="big-score">${quality(d.quality.score)}<span class="of">/ 10</span></span></h2></div>
    <p class="note">${MATCH_QUALITY_DISCLAIMER}</p>
    ${signalsList(d.quality)}
    ${d.destinations.size ? html`<table class="compact"><thead><tr><th>Destination</th><th class="num">estimate</th></tr></thead><tbody>
      ${[...d.destinations].map(([id, x]) => html`<tr><td>${id} <span class="sub">${x.type}</span></td><td class="num">${quality(x.quality.score)}</td></tr>`)}
    </tbody></table>` : ''}
  </section>

  <section class="card">
    <div class="card-head"><h2>Identity sent</h2></div>
    ${identity(e, d.networkRemoved)}
  </section>
</div>

<section class="card">
  <div class="card-head"><h2>Destinations</h2>
    ${dead.length > 1 ? html`<form method="post" action="${replayAction}" data-async="replay">${csrfField(pc)}<button type="submit" class="primary">Replay ${dead.length} dead</button></form>` : ''}
  </div>
  <div class="table-wrap"><table class="deliveries">
    <thead><tr><th>Destination</th><th>State</th><th class="num">Attempts</th><th class="num">Last HTTP</th><th>Last error</th><th>Delivered</th><th>Next try</th><th></th></tr></thead>
    <tbody id="deliveries">${d.stored.deliveries.map(
      (x) => html`<tr data-delivery-row="${x.delivery_id}">
      <td><strong>${x.destination}</strong> <span class="sub">${d.destinations.get(x.destination)?.type ?? ''}</span></td>
      <td>${stateBadge(deliveryState(x), x.delivery_id)}</td>
      <td class="num">${x.attempts}</td>
      <td class="num">${x.last_status ?? ''}</td>
      <td class="error-text">${x.last_error ?? ''}</td>
      <td>${x.delivered_at ? time(x.delivered_at) : ''}</td>
      <td>${x.status === 'pending' ? time(x.next_attempt_at) : ''}</td>
      <td>${x.status === 'dead' ? html`<form method="post" action="${replayAction}" data-async="replay">${csrfField(pc)}<input type="hidden" name="delivery_id" value="${x.delivery_id}"><button type="submit">Replay</button></form>` : ''}</td>
    </tr>`,
    )}</tbody>
  </table></div>
  ${d.stored.deliveries.length ? '' : html`<p class="empty">No destination was due to receive this event.</p>`}
</section>

<section class="card">
  <div class="card-head"><h2>Attempts</h2><span class="muted">every request to a platform, oldest first</span></div>
  <div class="table-wrap"><table class="attempts">
    <thead><tr><th>At</th><th>Destination</th><th>Outcome</th><th class="num">HTTP</th><th class="num">Took</th><th>Error · platform answer</th></tr></thead>
    <tbody id="attempts">${d.attempts.map(attemptRow)}</tbody>
  </table></div>
  <p class="empty" id="attempts-empty"${d.attempts.length ? html` hidden` : ''}>No attempt yet.</p>
</section>`,
  );
}
