// The login page and the bare error pages (no navigation, no script).
import { html } from '../html.js';
import { barePage } from './layout.js';

export function loginPage(base: string, opts: { next: string; error?: string }): string {
  return barePage(
    base,
    'Log in',
    html`<form class="login card" method="post" action="${base}/login">
  <div class="brand big"><span class="logo" aria-hidden="true"></span>Trakvo</div>
  <p class="muted">Dashboard of this collector</p>
  ${opts.error ? html`<p class="flash bad" role="alert">${opts.error}</p>` : ''}
  <input type="text" name="username" value="admin" autocomplete="username" hidden>
  <label for="password">Admin password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
  <input type="hidden" name="next" value="${opts.next}">
  <button type="submit" class="primary">Log in</button>
</form>`,
  );
}

export function errorPage(base: string, title: string, message: string, back = true): string {
  return barePage(
    base,
    title,
    html`<div class="card message"><h1>${title}</h1><p>${message}</p>${back ? html`<p><a href="${base}/">Back to the dashboard</a></p>` : ''}</div>`,
  );
}
