import { getJson } from './api.js';
import { badge, el, link, swap, table } from './dom.js';
import { bytes, timeEl } from './format.js';
import { restoreForm } from './forms.js';
import { policyLink } from './overview.js';
import { runRow } from './runs.js';
import type { Page, Run, Snapshot, VolumeView } from './types.js';
import type { View } from './view.js';

/** The cap bar: ready snapshots, reserved slots (snapshots not ready yet) and free slots. */
export function capBar(snapshots: Snapshot[], cap: number): HTMLElement {
  const ready = snapshots.filter((s) => s.readyToUse).length;
  const reserved = snapshots.length - ready;
  const cells = Array.from({ length: Math.max(cap, snapshots.length) }, (_, i) =>
    el('span', {
      className: i < ready ? 'slot used' : i < ready + reserved ? 'slot reserved' : 'slot free',
    }),
  );
  return el('div', { className: 'cap' }, [
    el(
      'div',
      {
        className: 'cap-bar',
        attrs: {
          role: 'meter',
          'aria-valuemin': '0',
          'aria-valuemax': String(cap),
          'aria-valuenow': String(snapshots.length),
          'aria-label': 'Snapshots against the cap',
        },
      },
      cells,
    ),
    el('span', { className: 'cap-text', text: `${snapshots.length} / ${cap}` }),
    el('span', {
      className: 'cap-legend',
      text: ` (${ready} ready, ${reserved} reserved, ${Math.max(0, cap - snapshots.length)} free)`,
    }),
  ]);
}

/** Where a snapshot came from: its policy, or the on-demand request and its reason. */
function origin(s: Snapshot): Node | string {
  const o = s.origin;
  if (o?.kind === 'policy') return el('span', {}, ['policy ', policyLink(o.policy)]);
  if (o?.kind === 'on-demand') {
    return `on-demand (${o.request})${o.reason ? `: ${o.reason}` : ''}`;
  }
  return 'not by a policy';
}

/** When a snapshot goes: its ttl, its policy's retention, or never (kept). */
function expiry(s: Snapshot): Node | string {
  if (s.labels?.['snapwarden.io/keep'] === 'true') return 'never (keep label)';
  if (s.expiresAt) return timeEl(s.expiresAt);
  if (s.origin?.kind === 'policy') return 'by the policy’s retention';
  if (s.origin?.kind === 'on-demand') return 'never (ttl 0)';
  return '—';
}

/** A volume: its policies, its snapshots against the cap with size, origin and expiry, its runs. */
export async function renderVolume(
  root: HTMLElement,
  namespace: string,
  name: string,
): Promise<View> {
  // Kept across live refreshes, so an open restore form and its status stay.
  const restore = el('div', { attrs: { id: 'restore-slot' } });
  const draw = async () => {
    const [volumes, snapshots, runs] = await Promise.all([
      getJson<{ items: VolumeView[] }>('/api/v1/volumes', { namespace }),
      getJson<{ items: Snapshot[] }>('/api/v1/snapshots', { namespace }),
      getJson<Page<Run>>('/api/v1/runs', { volume: `${namespace}/${name}`, limit: '10' }),
    ]);
    const volume = volumes.items.find((v) => v.name === name);
    if (!volume) {
      swap(root, [el('h2', { text: `Volume ${namespace}/${name} not found` })]);
      return;
    }
    const own = snapshots.items.filter((s) => s.volumeName === name);
    const rows = own.map((s) => [
      s.name,
      timeEl(s.createdAt),
      badge(s.readyToUse ? 'ready' : s.state),
      bytes(s.restoreSizeBytes),
      origin(s),
      expiry(s),
      s.error ?? '',
      s.readyToUse
        ? el('button', {
            text: 'Restore…',
            attrs: { type: 'button', 'aria-label': `Restore ${s.name}`, id: `restore-${s.name}` },
            onClick: () => restore.replaceChildren(restoreForm(namespace, s.name)),
          })
        : '',
    ]);
    const policies = volume.policies ?? [];
    swap(root, [
      el('h2', { text: `Volume ${namespace}/${name}` }),
      el('p', {
        text: `Labels: ${
          Object.entries(volume.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || 'none'
        }`,
      }),
      el('p', { attrs: { id: 'volume-policies' } }, [
        policies.length > 0 ? 'Selected by ' : 'Unprotected: no policy selects this volume.',
        ...policies.flatMap((p, i) => (i === 0 ? [policyLink(p)] : [', ', policyLink(p)])),
      ]),
      capBar(own, volume.cap),
      table(
        'Snapshots',
        ['Snapshot', 'Created', 'State', 'Size', 'Origin', 'Expires', 'Error', 'Action'],
        rows,
        'snapshots-table',
      ),
      restore,
      table(
        'Recent runs of this volume',
        ['Started', 'Policy', 'Volumes', 'Kind', 'Trigger', 'Result', 'Duration', 'Error'],
        runs.items.map(runRow),
        'volume-runs',
      ),
      link(`/runs?volume=${encodeURIComponent(`${namespace}/${name}`)}`, 'All runs of this volume'),
    ]);
  };
  await draw();
  return { refresh: draw };
}
