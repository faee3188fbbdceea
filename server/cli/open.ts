// Shared start for the command-line tools: configuration and a migrated database, or one clear line and exit 1.
import { ConfigError, loadConfig } from '../config.ts';
import { type Database, migrate, openDatabase } from '../database.ts';

export async function openForCommand(): Promise<{ db: Database; applied: string[] }> {
  try {
    const config = loadConfig();
    const db = await openDatabase(config);
    return { db, applied: await migrate(db) };
  } catch (error) {
    console.error(`square-mile: ${error instanceof ConfigError ? error.message : (error as Error).message}`);
    process.exit(1);
  }
}
