/**
 * Expiry: rows whose retention has run out leave the quarantine (state expired, change-log
 * and audit entries). Rows in a final state are forgotten after `historyDays`, and blobs
 * that nothing references any more are collected with their search-index entry.
 */
import type { Store } from "../storage/db.ts";

export interface ExpiryResult {
  expired: number;
  purgedRows: number;
  collectedBlobs: number;
}

export async function expire(store: Store, opts: { now?: number; historyDays?: number; batch?: number } = {}): Promise<ExpiryResult> {
  const now = opts.now ?? Date.now();
  const batch = opts.batch ?? 1000;
  let expired = 0;
  for (;;) {
    const tx = await store.client.transaction("write");
    let n = 0;
    try {
      const due = await tx.execute({
        sql: "SELECT id, recipient, recipient_domain, direction FROM messages WHERE state = 'caught' AND expires_at <= ? ORDER BY id LIMIT ?",
        args: [now, batch],
      });
      n = due.rows.length;
      for (const row of due.rows) {
        const c = await tx.execute({
          sql: "INSERT INTO changes (message_id, kind, recipient, recipient_domain, direction, at) VALUES (?, 'remove', ?, ?, ?, ?) RETURNING modseq",
          args: [row.id, row.recipient, row.recipient_domain, row.direction, now],
        });
        await tx.execute({ sql: "UPDATE messages SET state = 'expired', modseq = ?, state_changed_at = ? WHERE id = ?", args: [c.rows[0].modseq, now, row.id] });
        await tx.execute({
          sql: "INSERT INTO audit (at, actor, actor_kind, action, message_id, detail) VALUES (?, 'system', 'system', 'expire', ?, ?)",
          args: [now, row.id, JSON.stringify({ recipient: row.recipient })],
        });
      }
      await tx.commit();
    } finally {
      tx.close();
    }
    expired += n;
    if (n < batch) break;
  }

  // Forget finished rows after the history period (their audit entries stay).
  const historyCutoff = now - (opts.historyDays ?? 30) * 86400_000;
  const finished = `state IN ('released', 'deleted', 'expired') AND coalesce(state_changed_at, received_at) < ?`;
  await store.client.execute({
    sql: `DELETE FROM outbox WHERE state != 'pending' AND message_id IN (SELECT id FROM messages WHERE ${finished})`,
    args: [historyCutoff],
  });
  const purge = await store.client.execute({
    sql: `DELETE FROM messages WHERE state IN ('released', 'deleted', 'expired') AND coalesce(state_changed_at, received_at) < ?
          AND id NOT IN (SELECT message_id FROM outbox WHERE state = 'pending')`,
    args: [historyCutoff],
  });
  await store.client.execute("DELETE FROM message_flags WHERE message_id NOT IN (SELECT id FROM messages)");

  // Blobs that no quarantine row and no unfinished training report needs.
  const orphans = await store.client.execute(`
    SELECT b.id FROM blobs b
    WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id AND m.state IN ('caught', 'releasing'))
      AND NOT EXISTS (SELECT 1 FROM training_reports t WHERE t.blob_id = b.id AND t.state = 'pending')
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id AND m.state NOT IN ('caught', 'releasing') AND coalesce(m.state_changed_at, m.received_at) >= ${historyCutoff})`);
  let collected = 0;
  const ids = orphans.rows.map((r) => Number(r.id));
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const ph = chunk.map(() => "?").join(",");
    await store.client.batch(
      [
        { sql: `DELETE FROM outbox WHERE message_id IN (SELECT id FROM messages WHERE blob_id IN (${ph}))`, args: chunk },
        { sql: `DELETE FROM messages WHERE blob_id IN (${ph})`, args: chunk },
        { sql: `DELETE FROM training_reports WHERE blob_id IN (${ph})`, args: chunk },
        { sql: `DELETE FROM blob_text WHERE rowid IN (${ph})`, args: chunk },
        { sql: `DELETE FROM blobs WHERE id IN (${ph})`, args: chunk },
      ],
      "write",
    );
    collected += chunk.length;
  }
  return { expired, purgedRows: purge.rowsAffected, collectedBlobs: collected };
}
