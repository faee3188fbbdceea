// Digests: the liveliest threads across what a member follows over the last day or week.
// A digest covers the day or week up to the moment it is asked for; it is worked out then rather than stored,
// and its feed entry keeps one id per period and UTC hour so feed readers do not see it as new every poll.
import type { Database } from '../database.ts';
import * as threads from '../threads/domain.ts';
import * as q from './queries.ts';

export type DigestPeriod = 'daily' | 'weekly';
export const digestPeriods: readonly DigestPeriod[] = ['daily', 'weekly'];
const periodMs: Record<DigestPeriod, number> = { daily: 24 * 3600_000, weekly: 7 * 24 * 3600_000 };

export interface Digest {
  period: DigestPeriod;
  from: Date;
  until: Date;
  threads: { thread: threads.Thread; newReplies: number; newLikes: number; isNew: boolean }[];
}

export const digestHour = (digest: Digest) => new Date(Math.floor(digest.until.getTime() / 3600_000) * 3600_000);

export async function digestFor(db: Database, memberId: number, period: DigestPeriod, now = new Date(), limit = 10): Promise<Digest> {
  const until = now;
  const from = new Date(until.getTime() - periodMs[period]);
  const rows = await q.liveliestThreads(db, memberId, from, until, limit);
  const entries = await Promise.all(
    rows.map(async (row) => ({
      thread: await threads.threadById(db, row.id),
      newReplies: Number(row.new_replies),
      newLikes: Number(row.new_likes),
      isNew: row.is_new,
    })),
  );
  return { period, from, until, threads: entries };
}
