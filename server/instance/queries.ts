// Counts that describe the instance as a whole (NodeInfo): its own members and posts, not those from
// other servers that are stored here.
import type { Database } from '../database.ts';

export async function usage(db: Database) {
  const [members, threads, replies] = await Promise.all([
    db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'active').where('ap_id', 'is', null).executeTakeFirstOrThrow(),
    db.selectFrom('threads').select((eb) => eb.fn.countAll<number>().as('n')).where('deleted_at', 'is', null).where('ap_id', 'is', null).executeTakeFirstOrThrow(),
    db.selectFrom('replies').select((eb) => eb.fn.countAll<number>().as('n')).where('deleted_at', 'is', null).where('ap_id', 'is', null).executeTakeFirstOrThrow(),
  ]);
  return { members: members.n, threads: threads.n, replies: replies.n };
}
