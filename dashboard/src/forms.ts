import { ApiError, getToken, postJson, setToken } from './api.js';
import { el, field, input, select } from './dom.js';

/** The token field: kept in sessionStorage for this tab only. */
export function tokenField(): HTMLElement {
  const token = input('api-token', { type: 'password', autocomplete: 'off' });
  token.value = getToken();
  token.addEventListener('change', () => setToken(token.value.trim()));
  // A form of its own, so browsers treat the password field as one; Enter just keeps it.
  const form = el('form', { className: 'token', attrs: { 'aria-label': 'API token' } }, [
    el('input', {
      attrs: { type: 'text', name: 'username', autocomplete: 'username', hidden: '' },
    }),
    field('API token (for writes, kept for this tab)', token),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setToken(token.value.trim());
  });
  return form;
}

function status(id: string): HTMLParagraphElement {
  return el('p', { attrs: { id, role: 'status', 'aria-live': 'polite' } });
}

async function submit(out: HTMLElement, work: () => Promise<string>): Promise<void> {
  out.textContent = 'Sending…';
  out.className = '';
  try {
    out.textContent = await work();
    out.className = 'ok';
  } catch (error) {
    out.textContent = error instanceof ApiError ? error.message : String(error);
    out.className = 'error';
  }
}

/** The on-demand snapshot form: `POST /api/v1/snapshot-requests`. */
export function snapshotRequestForm(): HTMLFormElement {
  const namespace = input('snap-namespace', { value: 'default', required: '' });
  const claims = input('snap-claims', { placeholder: 'data, logs', required: '' });
  const policy = input('snap-policy', { placeholder: 'optional: retention of this policy' });
  const reason = input('snap-reason', { placeholder: 'why' });
  const out = status('snap-status');
  const form = el(
    'form',
    { attrs: { id: 'snapshot-request-form', 'aria-labelledby': 'snap-title' } },
    [
      el('h3', { text: 'Request a snapshot', attrs: { id: 'snap-title' } }),
      field('Namespace', namespace),
      field('Volumes (comma-separated)', claims),
      field('Retention policy (optional)', policy),
      field('Reason', reason),
      el('button', { text: 'Request snapshot', attrs: { type: 'submit' } }),
      out,
    ],
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit(out, async () => {
      const spec: Record<string, unknown> = {
        claimNames: claims.value
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      };
      if (reason.value) spec.reason = reason.value;
      if (policy.value) spec.policyRef = { name: policy.value.trim() };
      const created = await postJson<{ name?: string; metadata?: { name?: string } }>(
        '/api/v1/snapshot-requests',
        { metadata: { namespace: namespace.value.trim() }, spec },
      );
      return `Requested ${created.metadata?.name ?? created.name ?? 'snapshot'}.`;
    });
  });
  return form;
}

/** The restore form for one snapshot: `POST /api/v1/restores`. */
export function restoreForm(namespace: string, snapshotName: string): HTMLFormElement {
  const mode = select('restore-mode', ['NewVolume', 'Rollback'], 'choose a mode');
  mode.value = 'NewVolume';
  const target = input('restore-target', { placeholder: 'name of the new volume' });
  const out = status('restore-status');
  const follow = el('p', { attrs: { id: 'restore-follow' } });
  const form = el('form', { attrs: { id: 'restore-form', 'aria-labelledby': 'restore-title' } }, [
    el('h3', { text: `Restore ${snapshotName}`, attrs: { id: 'restore-title' } }),
    field('Mode', mode),
    field('New volume (mode NewVolume)', target),
    el('button', { text: 'Restore', attrs: { type: 'submit' } }),
    out,
    follow,
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit(out, async () => {
      const spec: Record<string, unknown> = { snapshotName, mode: mode.value };
      if (mode.value === 'NewVolume') spec.target = { claimName: target.value.trim() };
      const created = await postJson<{ runId?: string }>('/api/v1/restores', {
        metadata: { namespace },
        spec,
      });
      follow.replaceChildren();
      if (created.runId) {
        follow.append(
          el('a', {
            text: 'Follow the restore run',
            attrs: { href: `#/runs/${encodeURIComponent(created.runId)}`, id: 'restore-run-link' },
          }),
        );
      }
      return `Restore of ${snapshotName} requested.`;
    });
  });
  return form;
}
