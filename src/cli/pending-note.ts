/** The CLI's line on stderr when a read waits for the owner's approval (a v2 `pending` frame). Never secret. */
import type { Reply } from '../core/agent/reply-check.js';

/** Tells the user that a read waits for the owner's approval, and how the owner gives it. */
export function pendingNote(f: Readonly<Reply>): void {
  if (f.frame !== 'pending' || f.reason !== 'approval') return;
  const d = (f.detail ?? {}) as { approval_id?: unknown; expires_in_s?: unknown };
  const id = typeof d.approval_id === 'string' && /^[0-9a-f]{8}$/.test(d.approval_id) ? d.approval_id : '?';
  const s = typeof d.expires_in_s === 'number' && Number.isSafeInteger(d.expires_in_s) ? ` (up to ${d.expires_in_s} s)` : '';
  process.stderr.write(`sesame: waiting for the owner's approval of request ${id}${s}: the owner runs \`sesame approve ${id}\`\n`);
}
