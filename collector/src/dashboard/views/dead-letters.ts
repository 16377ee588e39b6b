// Dead letters: deliveries that gave up (the platform refused the event, or retries ran
// out), filterable by destination and error text, replayable one by one or all at once once
// the config is fixed; and outbound webhooks that were dead-lettered the same way.
import type { DeliveryListItem, NotificationRecord } from '../../store/types.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, eventHref, flash, href, page, stateBadge, time, type PageContext } from './layout.js';

export interface DeadLettersData {
  destination: string;
  error: string;
  /** Configured destination ids (of the site, or all sites), for the filter. */
  destinations: string[];
  items: DeliveryListItem[];
  offset: number;
  pageSize: number;
  hasMore: boolean;
  notifications: NotificationRecord[];
  message?: string;
}

function deadRow(pc: PageContext, d: DeliveryListItem): SafeHtml {
  return html`<tr data-delivery-row="${d.delivery_id}">
    <td class="when">${time(d.updated_at)}</td>
    <td class="name"><a href="${eventHref(pc, d.site_id, d.event_id)}">${d.event_name}</a><div class="sub mono">${d.event_id}</div></td>
    <td><strong>${d.destination}</strong>${pc.sites.length > 1 ? html`<div class="sub">${d.site_id}</div>` : ''}</td>
    <td class="num">${d.attempts}</td>
    <td class="num">${d.last_status ?? html`<span class="muted">—</span>`}</td>
    <td class="error-text" title="${d.last_error ?? ''}">${d.last_error ?? ''}</td>
    <td class="state">${stateBadge('dead', d.delivery_id)}</td>
    <td><form method="post" action="${pc.base}/dead/replay" data-async="replay">${csrfField(pc)}<input type="hidden" name="delivery_id" value="${d.delivery_id}"><input type="hidden" name="site_id" value="${d.site_id}"><input type="hidden" name="event_id" value="${d.event_id}"><button type="submit">Replay</button></form></td>
  </tr>`;
}

function notificationRow(pc: PageContext, n: NotificationRecord): SafeHtml {
  return html`<tr data-notification-row="${n.id}">
    <td class="when">${time(n.updated_at)}</td>
    <td>${n.kind}${pc.sites.length > 1 ? html`<div class="sub">${n.site_id}</div>` : ''}</td>
    <td class="mono url">${n.url}</td>
    <td class="num">${n.attempts}</td>
    <td class="num">${n.last_status ?? html`<span class="muted">—</span>`}</td>
    <td class="error-text">${n.last_error ?? ''}</td>
    <td class="state"><span class="badge s-${n.status}" data-notification="${n.id}">${n.status}</span></td>
    <td><form method="post" action="${pc.base}/notifications/replay" data-async="replay">${csrfField(pc)}<input type="hidden" name="id" value="${n.id}"><button type="submit">Replay</button></form></td>
  </tr>`;
}

export function deadLettersPage(pc: PageContext, d: DeadLettersData): string {
  const filtered = d.destination !== '' || d.error !== '';
  const scope = [d.destination && `to ${d.destination}`, d.error && `with “${d.error}” in the error`].filter(Boolean).join(' ');
  return page(
    pc,
    { title: 'Dead letters', section: 'dead', page: 'dead' },
    html`
${flash(d.message)}
<section class="card">
  <div class="card-head"><h2>Dead letters</h2>
    <form class="filters" method="get">
      ${pc.site ? html`<input type="hidden" name="site" value="${pc.site}">` : ''}
      <label>Destination <select name="destination">
        <option value="">all</option>
        ${d.destinations.map((x) => html`<option value="${x}"${x === d.destination ? html` selected` : ''}>${x}</option>`)}
      </select></label>
      <label>Error contains <input type="search" name="error" value="${d.error}" placeholder="e.g. 190, token" autocomplete="off"></label>
      <button type="submit">Filter</button>
      ${filtered ? html`<a class="clear" href="${href(pc, '/dead')}">clear</a>` : ''}
    </form>
  </div>
  <p class="muted">Fix the cause (credentials, config, the mapping), then replay: a replayed delivery is sent again with the same event id, so the platform counts it once.</p>
  ${d.items.length
    ? html`<form method="post" action="${pc.base}/dead/replay" class="replay-all" data-async="replay-all">
        ${csrfField(pc)}<input type="hidden" name="all" value="1">
        <input type="hidden" name="destination" value="${d.destination}"><input type="hidden" name="error" value="${d.error}">
        ${pc.site ? html`<input type="hidden" name="site" value="${pc.site}">` : ''}
        <button type="submit" class="primary">Replay ${d.offset === 0 && !d.hasMore ? `all ${d.items.length}` : 'all'} dead ${d.items.length === 1 && !d.hasMore ? 'delivery' : 'deliveries'}${scope ? ` ${scope}` : ''}</button>
      </form>`
    : ''}
  <div class="table-wrap"><table class="dead">
    <thead><tr><th>Died</th><th>Event</th><th>Destination</th><th class="num">Attempts</th><th class="num">HTTP</th><th>Error</th><th>State</th><th></th></tr></thead>
    <tbody id="dead">${d.items.map((x) => deadRow(pc, x))}</tbody>
  </table></div>
  ${d.items.length ? '' : html`<p class="empty">${filtered ? `No dead delivery ${scope}.` : 'No dead letters. Everything that failed was retried successfully, or nothing failed.'}</p>`}
  <p class="pager">
    ${d.offset > 0 ? html`<a href="${href(pc, '/dead', { destination: d.destination, error: d.error, offset: Math.max(0, d.offset - d.pageSize) || undefined })}">← Newer</a>` : ''}
    ${d.hasMore ? html`<a href="${href(pc, '/dead', { destination: d.destination, error: d.error, offset: d.offset + d.pageSize })}">Older →</a>` : ''}
  </p>
</section>

<section class="card">
  <div class="card-head"><h2>Outbound webhooks, dead</h2>
    ${d.notifications.length > 1 ? html`<form method="post" action="${pc.base}/notifications/replay" data-async="replay-all">${csrfField(pc)}<input type="hidden" name="all" value="1">${pc.site ? html`<input type="hidden" name="site" value="${pc.site}">` : ''}<button type="submit" class="primary">Replay all</button></form>` : ''}
  </div>
  ${d.notifications.length
    ? html`<div class="table-wrap"><table class="notifications">
        <thead><tr><th>Gave up</th><th>Kind</th><th>URL</th><th class="num">Attempts</th><th class="num">HTTP</th><th>Error</th><th>State</th><th></th></tr></thead>
        <tbody>${d.notifications.map((n) => notificationRow(pc, n))}</tbody>
      </table></div>`
    : html`<p class="empty">No webhook notification was dead-lettered.</p>`}
</section>`,
  );
}
