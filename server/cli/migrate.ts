// `npm run migrate`: applies pending migrations and says which.
import { openForCommand } from './open.ts';

const { db, applied } = await openForCommand();
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date');
await db.destroy();
