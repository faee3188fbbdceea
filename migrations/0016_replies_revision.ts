// A thread's replies are read far more often than they change. Each thread counts the changes to its
// replies, and to the names their authors are shown by, so that a process can keep a thread's replies in
// memory and tell from the thread's own row, which every reading loads anyway, whether they are current.
// The count changes in the same transaction as the replies, by triggers, so no write path can forget it.
import { type Kysely, sql } from 'kysely';

const statements = [
  `alter table threads add column replies_revision bigint not null default 0`,
  `create function square_mile_replies_changed() returns trigger language plpgsql as $$
  begin
    if tg_op <> 'INSERT' then
      update threads set replies_revision = replies_revision + 1 where id = old.thread_id;
    end if;
    if tg_op = 'INSERT' or new.thread_id <> old.thread_id then
      update threads set replies_revision = replies_revision + 1 where id = new.thread_id;
    end if;
    return null;
  end $$`,
  `create trigger replies_revision after insert or update or delete on replies
    for each row execute function square_mile_replies_changed()`,
  // Replies show their author's name and address, read from members.
  `create function square_mile_reply_author_renamed() returns trigger language plpgsql as $$
  begin
    update threads set replies_revision = replies_revision + 1
      where id in (select thread_id from replies where author_id = new.id);
    return null;
  end $$`,
  `create trigger members_reply_author_renamed after update of username, display_name, ap_id on members
    for each row when ((old.username, old.display_name, old.ap_id) is distinct from (new.username, new.display_name, new.ap_id))
    execute function square_mile_reply_author_renamed()`,
  // That lookup, and gathering an author's posts to delete them, read replies by author.
  `create index replies_author on replies (author_id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
