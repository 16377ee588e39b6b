// Trakvo dashboard: the one script of every page (the CSP allows no inline script).
// Live rows over Server-Sent Events, uPlot charts, replay without reload, copy buttons.
// Every string from the server is put into the page as text (textContent / text nodes),
// never parsed as HTML.
(function () {
  'use strict';

  var body = document.body;
  var base = body.getAttribute('data-base') || '';
  var siteFilter = body.getAttribute('data-site') || '';
  var pageName = body.getAttribute('data-page') || '';
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') || '' : '';
  var QUALITY_NOTE = "Trakvo's estimate from the identifiers sent (0–10), not Meta's Event Match Quality or any platform's own score.";

  /** Builds an element; string children become text nodes. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') node.textContent = String(v);
        else node.setAttribute(k, String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === '') return;
      node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return node;
  }

  function withSite(url) {
    return siteFilter ? url + (url.indexOf('?') < 0 ? '?' : '&') + 'site=' + encodeURIComponent(siteFilter) : url;
  }

  // ── times: server renders UTC, shown here in the viewer's time zone ────────────────
  function formatTime(ms) {
    var d = new Date(ms);
    var now = new Date();
    if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString();
    return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function timeEl(ms) {
    var d = new Date(ms);
    return el('time', { datetime: d.toISOString(), 'data-ts': ms, title: d.toISOString(), text: formatTime(ms) });
  }

  function localizeTimes(root) {
    root.querySelectorAll('time[data-ts]').forEach(function (t) {
      var ms = Number(t.getAttribute('data-ts'));
      if (!isFinite(ms)) return;
      t.title = new Date(ms).toISOString();
      t.textContent = formatTime(ms);
    });
  }

  // ── small pieces, the same markup the server renders ─────────────────────────────
  function qualityBand(score) {
    return score < 4 ? 'low' : score < 7 ? 'mid' : 'high';
  }

  function qualityEl(score) {
    if (score === null || score === undefined) return el('span', { class: 'muted', text: '—' });
    return el('span', { class: 'quality q-' + qualityBand(score), title: QUALITY_NOTE, text: score.toFixed(1) });
  }

  function money(value, currency) {
    if (value === null || value === undefined) return '';
    return value.toFixed(2) + (currency ? ' ' + currency : '');
  }

  function chipTitle(d) {
    return d.error ? d.state + ': ' + d.error : d.state + ', ' + d.attempts + ' attempt' + (d.attempts === 1 ? '' : 's');
  }

  function chipEl(d) {
    return el('span', { class: 'chip s-' + d.state, 'data-delivery': d.id, title: chipTitle(d) }, [el('span', { class: 'dot' }), d.destination]);
  }

  function eventHref(r) {
    return withSite(base + '/events/' + encodeURIComponent(r.site_id) + '/' + encodeURIComponent(r.event_id));
  }

  function rowEl(r, multisite) {
    return el('tr', { 'data-key': r.key, 'data-received': r.received_at }, [
      el('td', { class: 'when' }, [timeEl(r.received_at)]),
      el('td', { class: 'name' }, [el('a', { href: eventHref(r), text: r.event_name }), el('div', { class: 'sub mono', text: r.event_id })]),
      el('td', { class: 'src' }, [r.source, multisite ? el('div', { class: 'sub', text: r.site_id }) : null]),
      el('td', { class: 'order' }, [r.order_id || '', el('div', { class: 'sub', text: money(r.value, r.currency) })]),
      el('td', { class: 'q' }, [qualityEl(r.quality)]),
      el('td', { class: 'dests' }, r.deliveries.length ? r.deliveries.map(chipEl) : [el('span', { class: 'muted', text: 'none' })]),
    ]);
  }

  /** Sets a delivery's state on every badge or chip showing it on this page. */
  function setDeliveryState(d) {
    document.querySelectorAll('[data-delivery="' + d.id + '"]').forEach(function (node) {
      if (node.classList.contains('chip')) {
        node.className = 'chip s-' + d.state;
        node.title = chipTitle(d);
      } else {
        node.className = 'badge s-' + d.state;
        node.textContent = d.state;
      }
    });
  }

  // ── live stream ──────────────────────────────────────────────────────────────────
  var liveBody = document.querySelector('tbody[data-live="1"]');
  var eventHead = document.getElementById('event');
  var maxRows = liveBody ? Math.max(liveBody.rows.length, liveBody.id === 'live' ? 25 : 50) : 0;

  function upsertRow(r) {
    if (!liveBody) return;
    if (siteFilter && r.site_id !== siteFilter) return;
    var multisite = liveBody.getAttribute('data-multisite') === '1';
    var fresh = rowEl(r, multisite);
    var existing = null;
    for (var i = 0; i < liveBody.rows.length; i++) {
      if (liveBody.rows[i].getAttribute('data-key') === r.key) existing = liveBody.rows[i];
    }
    if (existing) {
      fresh.className = existing.className;
      liveBody.replaceChild(fresh, existing);
      return;
    }
    var before = null;
    for (var j = 0; j < liveBody.rows.length; j++) {
      if (Number(liveBody.rows[j].getAttribute('data-received')) < r.received_at) {
        before = liveBody.rows[j];
        break;
      }
    }
    if (!before && liveBody.rows.length >= maxRows) return;
    liveBody.insertBefore(fresh, before);
    fresh.classList.add('new');
    while (liveBody.rows.length > maxRows) liveBody.deleteRow(liveBody.rows.length - 1);
    var empty = liveBody.closest('.table-wrap').querySelector('.empty');
    if (empty) empty.hidden = true;
  }

  var detailTimer = null;
  var detailSig = eventHead ? eventHead.getAttribute('data-sig') : null;
  function onRow(r) {
    r.deliveries.forEach(setDeliveryState);
    upsertRow(r);
    if (eventHead && eventHead.getAttribute('data-key') === r.key) {
      var sig = r.deliveries.map(function (d) { return d.id + ':' + d.state + ':' + d.attempts; }).join(',');
      if (sig === detailSig) return;
      detailSig = sig;
      clearTimeout(detailTimer);
      detailTimer = setTimeout(refreshDetail, 150);
    }
  }

  function startStream() {
    if (!window.EventSource) return;
    var status = document.getElementById('live-status');
    var url = base + '/api/stream' + (siteFilter ? '?site=' + encodeURIComponent(siteFilter) : '');
    var source = new EventSource(url);
    source.addEventListener('row', function (e) {
      try {
        onRow(JSON.parse(e.data));
      } catch (err) {
        /* a malformed message is skipped */
      }
    });
    source.onopen = function () {
      if (status) {
        status.className = 'live-dot on';
        status.title = 'live: new events appear as they arrive';
      }
    };
    source.onerror = function () {
      if (status) {
        status.className = 'live-dot off';
        status.title = 'reconnecting…';
      }
    };
  }

  // ── event detail: deliveries and attempts follow the stream ───────────────────────
  function csrfInput() {
    return el('input', { type: 'hidden', name: '_csrf', value: csrf });
  }

  function refreshDetail() {
    var api = eventHead && eventHead.getAttribute('data-api');
    if (!api) return;
    fetch(api, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) {
        if (!data) return;
        var deliveries = document.getElementById('deliveries');
        if (deliveries) {
          var action = eventHead.getAttribute('data-api').replace('/api/events/', '/events/') + '/replay';
          var rows = data.deliveries.map(function (d) {
            var replay = d.status === 'dead'
              ? el('form', { method: 'post', action: action, 'data-async': 'replay' }, [
                  csrfInput(),
                  el('input', { type: 'hidden', name: 'delivery_id', value: d.delivery_id }),
                  el('button', { type: 'submit', text: 'Replay' }),
                ])
              : null;
            return el('tr', { 'data-delivery-row': d.delivery_id }, [
              el('td', null, [el('strong', { text: d.destination }), ' ', el('span', { class: 'sub', text: d.type })]),
              el('td', null, [el('span', { class: 'badge s-' + d.state, 'data-delivery': d.delivery_id, text: d.state })]),
              el('td', { class: 'num', text: d.attempts }),
              el('td', { class: 'num', text: d.last_status === null ? '' : d.last_status }),
              el('td', { class: 'error-text', text: d.last_error || '' }),
              el('td', null, [d.delivered_at ? timeEl(d.delivered_at) : '']),
              el('td', null, [d.status === 'pending' && d.next_attempt_at ? timeEl(d.next_attempt_at) : '']),
              el('td', null, [replay]),
            ]);
          });
          deliveries.replaceChildren.apply(deliveries, rows);
        }
        var attempts = document.getElementById('attempts');
        if (attempts) {
          // Answers the reader opened stay open (attempts only ever get appended).
          var open = [];
          attempts.querySelectorAll('tr').forEach(function (tr, i) {
            var det = tr.querySelector('details');
            if (det && det.open) open.push(i);
          });
          var arows = data.attempts.map(function (a) {
            var answer = el('td', { class: 'answer' }, [
              a.error ? el('div', { class: 'error-text', text: a.error }) : null,
              a.response ? el('details', null, [el('summary', { text: 'platform answer' }), el('pre', { text: a.response })]) : null,
            ]);
            return el('tr', null, [
              el('td', { class: 'when' }, [timeEl(a.at)]),
              el('td', { text: a.destination }),
              el('td', null, [el('span', { class: 'badge s-' + a.outcome, text: a.outcome })]),
              el('td', { class: 'num' }, [a.http_status === null ? el('span', { class: 'muted', text: 'no answer' }) : String(a.http_status)]),
              el('td', { class: 'num', text: a.duration_ms === null ? '' : a.duration_ms < 1000 ? Math.round(a.duration_ms) + ' ms' : (a.duration_ms / 1000).toFixed(2) + ' s' }),
              answer,
            ]);
          });
          open.forEach(function (i) {
            var det = arows[i] && arows[i].querySelector('details');
            if (det) det.open = true;
          });
          attempts.replaceChildren.apply(attempts, arows);
          var none = document.getElementById('attempts-empty');
          if (none) none.hidden = arows.length > 0;
        }
      })
      .catch(function () { /* the next update retries */ });
  }

  // ── replay without leaving the page ──────────────────────────────────────────────
  function showFlash(text, bad) {
    var main = document.querySelector('main');
    var flash = document.getElementById('async-flash');
    if (!flash) {
      flash = el('p', { id: 'async-flash', role: 'status' });
      main.insertBefore(flash, main.firstChild);
    }
    flash.className = 'flash' + (bad ? ' bad' : '');
    flash.textContent = text;
  }

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-async') || !window.fetch) return;
    e.preventDefault();
    var button = form.querySelector('button');
    if (button) button.disabled = true;
    fetch(form.action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRF-Token': csrf },
      body: new URLSearchParams(new FormData(form)),
    })
      .then(function (res) {
        return res.json().then(function (data) { return { ok: res.ok, data: data }; });
      })
      .then(function (r) {
        if (!r.ok) {
          showFlash((r.data && r.data.error && r.data.error.message) || 'The replay failed.', true);
          if (button) button.disabled = false;
          return;
        }
        var n = r.data.requeued;
        var scope = form.getAttribute('data-async') === 'replay-all' ? form.closest('.card') : form.closest('tr');
        if (scope && n > 0) {
          scope.querySelectorAll('[data-delivery], [data-notification]').forEach(function (b) {
            if (b.classList.contains('s-dead')) {
              if (b.classList.contains('chip')) b.className = 'chip s-pending';
              else {
                b.className = 'badge s-queued';
                b.textContent = 'queued';
              }
            }
          });
        }
        showFlash(n === 0 ? 'Nothing to replay: it was already queued or delivered.' : n + ' queued again. States update below as the platform answers.', false);
        if (button) button.textContent = n > 0 ? 'Queued' : 'Replay';
        if (eventHead) refreshDetail();
      })
      .catch(function () {
        showFlash('The replay request failed. Check the connection and try again.', true);
        if (button) button.disabled = false;
      });
  });

  // ── charts (uPlot) ───────────────────────────────────────────────────────────────
  var charts = {};
  var range = '1h';
  var COLORS = { events: '#4f46e5', delivered: '#16a34a', dead: '#dc2626', rate: '#0891b2' };

  function chartWidth(node) {
    return Math.max(240, node.clientWidth);
  }

  function timeAxis() {
    return { stroke: '#6b7280', grid: { stroke: '#eef0f4', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 } };
  }

  function valueAxis(extra) {
    var a = { stroke: '#6b7280', grid: { stroke: '#eef0f4', width: 1 }, ticks: { show: false }, size: 48 };
    Object.keys(extra || {}).forEach(function (k) { a[k] = extra[k]; });
    return a;
  }

  function drawChart(id, opts, data) {
    var node = document.getElementById(id);
    if (!node || !window.uPlot) return;
    var empty = node.querySelector('.chart-empty');
    if (empty) empty.remove();
    if (charts[id]) {
      charts[id].destroy();
      delete charts[id];
    }
    opts.width = chartWidth(node);
    opts.height = 220;
    charts[id] = new window.uPlot(opts, data, node);
  }

  function renderCharts(s) {
    var bars = window.uPlot.paths.bars;
    drawChart(
      'chart-events',
      {
        scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.15)]; } } },
        series: [
          { value: function (u, v) { return v === null ? '' : new Date(v * 1000).toLocaleString(); } },
          { label: 'events / min', stroke: COLORS.events, fill: 'rgba(79,70,229,0.35)', width: 1, paths: bars({ size: [0.8, 40] }), points: { show: false } },
        ],
        axes: [timeAxis(), valueAxis()],
      },
      [s.x, s.eventsPerMinute],
    );
    var rate = s.delivered.map(function (d, i) {
      var total = d + s.dead[i];
      return total ? Math.round((d / total) * 1000) / 10 : null;
    });
    drawChart(
      'chart-deliveries',
      {
        scales: {
          x: { time: true },
          y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.15)]; } },
          pct: { range: [0, 105] },
        },
        series: [
          { value: function (u, v) { return v === null ? '' : new Date(v * 1000).toLocaleString(); } },
          { label: 'delivered', stroke: COLORS.delivered, fill: 'rgba(22,163,74,0.45)', width: 1, paths: bars({ size: [0.45, 20], align: -1 }), points: { show: false } },
          { label: 'dead', stroke: COLORS.dead, fill: 'rgba(220,38,38,0.6)', width: 1, paths: bars({ size: [0.45, 20], align: 1 }), points: { show: false } },
          { label: 'success %', scale: 'pct', stroke: COLORS.rate, width: 2, spanGaps: false, points: { show: true, size: 4 }, value: function (u, v) { return v === null ? '—' : v + '%'; } },
        ],
        axes: [timeAxis(), valueAxis(), valueAxis({ scale: 'pct', side: 1, grid: { show: false }, values: function (u, vals) { return vals.map(function (v) { return v + '%'; }); } })],
      },
      [s.x, s.delivered, s.dead, rate],
    );
  }

  function loadCharts() {
    var url = base + '/api/charts?range=' + range + (siteFilter ? '&site=' + encodeURIComponent(siteFilter) : '');
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (s) { if (s && window.uPlot) renderCharts(s); })
      .catch(function () { /* next refresh */ });
  }

  function startCharts() {
    if (!document.getElementById('chart-events')) return;
    document.querySelectorAll('[data-range]').forEach(function (b) {
      b.addEventListener('click', function () {
        range = b.getAttribute('data-range');
        document.querySelectorAll('[data-range]').forEach(function (x) {
          x.setAttribute('aria-pressed', String(x.getAttribute('data-range') === range));
        });
        loadCharts();
      });
    });
    loadCharts();
    setInterval(loadCharts, 30000);
    if (window.ResizeObserver) {
      var ro = new ResizeObserver(function () {
        Object.keys(charts).forEach(function (id) {
          var node = document.getElementById(id);
          if (node) charts[id].setSize({ width: chartWidth(node), height: 220 });
        });
      });
      document.querySelectorAll('.chart').forEach(function (n) { ro.observe(n); });
    }
  }

  // ── copy buttons, site picker ────────────────────────────────────────────────────
  document.addEventListener('click', function (e) {
    var b = e.target instanceof Element ? e.target.closest('[data-copy]') : null;
    if (!b) return;
    var src = document.getElementById(b.getAttribute('data-copy'));
    if (!src) return;
    var done = function () {
      b.textContent = 'Copied';
      setTimeout(function () { b.textContent = 'Copy'; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(src.textContent || '').then(done, function () { selectText(src); });
    } else {
      selectText(src);
    }
  });

  function selectText(node) {
    var r = document.createRange();
    r.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(r);
  }

  document.querySelectorAll('select[data-autosubmit]').forEach(function (s) {
    s.addEventListener('change', function () { s.form.submit(); });
  });

  localizeTimes(document);
  startCharts();
  if (liveBody || eventHead || pageName === 'dead') startStream();
})();
