// Overview: is it flowing, and which platform is failing why. Headline numbers, the two
// charts (drawn by dashboard.js with uPlot), each destination's health, and the live stream.
import { MATCH_QUALITY_DISCLAIMER } from '../../quality/match-quality.js';
import { html, type SafeHtml } from '../html.js';
import type { DestinationHealth, EventRow, HealthCounts } from '../queries.js';
import { eventTable, href, page, quality, qualityNote, time, type PageContext } from './layout.js';

export interface OverviewData {
  eventsLastHour: number;
  health: DestinationHealth[];
  queueDepth: number;
  rows: EventRow[];
}

function tile(label: string, value: number | string, tone = '', hint = ''): SafeHtml {
  return html`<div class="tile ${tone}"><div class="tile-value">${value}</div><div class="tile-label">${label}</div>${hint ? html`<div class="tile-hint">${hint}</div>` : ''}</div>`;
}

const sum = (hs: DestinationHealth[], pick: (h: DestinationHealth) => number) => hs.reduce((a, h) => a + pick(h), 0);

function ms(v: number | null): string {
  if (v === null) return '—';
  return v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;
}

function countsCell(c: HealthCounts): SafeHtml {
  return html`<td class="num"><span class="n ok">${c.delivered}</span></td>
    <td class="num"><span class="n ${c.retrying + c.pending ? 'warn' : 'zero'}">${c.retrying}${c.pending ? html`<span class="sub"> +${c.pending} new</span>` : ''}</span></td>
    <td class="num"><span class="n ${c.dead ? 'bad' : 'zero'}">${c.dead}</span></td>`;
}

function healthRow(pc: PageContext, h: DestinationHealth): SafeHtml {
  const status = !h.enabled ? 'off' : h.hour.dead > 0 || (h.hour.retrying > 0 && h.hour.delivered === 0) ? 'bad' : h.hour.retrying > 0 ? 'warn' : 'ok';
  return html`<tr data-destination="${h.site_id}/${h.destination}">
    <td class="dest-name"><span class="status-dot ${status}" title="${status === 'off' ? 'disabled' : status}"></span><strong>${h.destination}</strong>
      <div class="sub">${h.type}${pc.sites.length > 1 ? ` · ${h.site_id}` : ''}${h.enabled ? '' : ' · disabled'}</div></td>
    ${countsCell(h.hour)}
    ${countsCell(h.day)}
    <td class="num">${ms(h.avg_latency_ms)}<div class="sub">p95 ${ms(h.p95_latency_ms)}</div></td>
    <td class="num">${quality(h.quality)}${h.quality_sample ? html`<div class="sub">${h.quality_sample} events</div>` : ''}</td>
    <td class="err">${h.last_error
      ? html`<a href="${href(pc, '/dead', { destination: h.destination, ...(pc.site ? {} : { site: h.site_id }) })}" title="${h.last_error}">${h.last_error}</a><div class="sub">${time(h.last_error_at)}</div>`
      : html`<span class="muted">none</span>`}</td>
  </tr>`;
}

function chartCard(id: string, title: string): SafeHtml {
  return html`<section class="card chart-card">
    <div class="card-head"><h2>${title}</h2>
      <div class="range" role="group" aria-label="Time range">
        <button type="button" data-range="1h" aria-pressed="true">1 h</button><button type="button" data-range="24h" aria-pressed="false">24 h</button>
      </div>
    </div>
    <div class="chart" id="${id}"><p class="chart-empty muted">Loading…</p></div>
  </section>`;
}

export function overviewPage(pc: PageContext, d: OverviewData): string {
  const deliveredHour = sum(d.health, (h) => h.hour.delivered);
  const deadHour = sum(d.health, (h) => h.hour.dead);
  const deadDay = sum(d.health, (h) => h.day.dead);
  const retrying = sum(d.health, (h) => h.day.retrying);
  const done = deliveredHour + deadHour;
  const rate = done ? `${((deliveredHour / done) * 100).toFixed(done === deliveredHour ? 0 : 1)}%` : '—';

  return page(
    pc,
    { title: 'Overview', section: 'overview', charts: true, page: 'overview' },
    html`
<div class="tiles">
  ${tile('events in the last hour', d.eventsLastHour)}
  ${tile('delivered in the last hour', deliveredHour, 'ok', `success ${rate}`)}
  ${tile('retrying', retrying, retrying ? 'warn' : '')}
  ${tile('dead in the last 24 h', deadDay, deadDay ? 'bad' : '', deadDay ? 'see Dead letters' : '')}
  ${tile('waiting in the queue', d.queueDepth)}
</div>

<div class="charts">
  ${chartCard('chart-events', 'Events per minute')}
  ${chartCard('chart-deliveries', 'Delivery success')}
</div>

<section class="card">
  <div class="card-head"><h2>Destinations</h2></div>
  <div class="table-wrap"><table class="health">
    <thead>
      <tr><th rowspan="2">Destination</th><th colspan="3" class="group">Last hour</th><th colspan="3" class="group">Last 24 hours</th><th rowspan="2" class="num">Latency<div class="sub">avg, 24 h</div></th><th rowspan="2" class="num" title="${MATCH_QUALITY_DISCLAIMER}">Match quality*</th><th rowspan="2">Last error (24 h)</th></tr>
      <tr><th class="num">delivered</th><th class="num">retrying</th><th class="num">dead</th><th class="num">delivered</th><th class="num">retrying</th><th class="num">dead</th></tr>
    </thead>
    <tbody>${d.health.length ? d.health.map((h) => healthRow(pc, h)) : html`<tr><td colspan="10" class="muted">No destination is configured.</td></tr>`}</tbody>
  </table></div>
</section>

<section class="card">
  <div class="card-head"><h2>Live events</h2><span class="live-dot" id="live-status" title="connecting…">live</span>
    <a class="more" href="${href(pc, '/events')}">All events, search →</a></div>
  ${eventTable(pc, d.rows, { live: true, id: 'live', empty: 'No events yet. They appear here the moment they arrive.' })}
</section>
${qualityNote()}`,
  );
}
