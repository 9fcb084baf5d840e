import { html, type Html } from '../html.ts';
import { page } from '../layout.ts';

export function signInPage(opts: { next: string; error?: string }): Html {
  return page({
    title: 'Sign in',
    error: opts.error,
    body: html`<div class="signin">
<p>Sign in with an admin key (scope <code>admin</code>, or the server's <code>SLUICE_ADMIN_KEY</code>).</p>
<form method="post" action="/ui/login">
  <input type="hidden" name="next" value="${opts.next}">
  <label for="key">Admin key <input id="key" name="key" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
<p class="muted">The key stays on the server for this session (8 hours); it is never put in a URL or a cookie.</p>
</div>`,
  });
}
