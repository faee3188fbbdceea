// Counts that describe the instance as a whole (NodeInfo).
import type { Database } from '../database.ts';

export async function usage(db: Database) {
  const count = async (table: 'members' | 'threads' | 'replies') => {
    let query = db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
    if (table === 'members') query = query.where('status' as never, '=', 'active' as never);
    else query = query.where('deleted_at' as never, 'is', null as never);
    return (await query.executeTakeFirstOrThrow()).n;
  };
  const [members, threads, replies] = await Promise.all([count('members'), count('threads'), count('replies')]);
  return { members, threads, replies };
}
