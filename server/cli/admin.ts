// `npm run admin -- <command>`: the instance admin's tools, for before anyone can sign in.
import { parseArgs } from 'node:util';
import * as accounts from '../accounts/domain.ts';
import { AppError } from '../errors.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import { openForCommand } from './open.ts';

const usage = `usage: npm run admin -- <command> [options]

  create-admin <username> [--password P]    a member with the admin role (password also from ADMIN_PASSWORD)
  create-user <username> [--password P]     an ordinary member
  create-neighbourhood <handle> --name N --place P --owner USERNAME
                       [--latitude=LAT --longitude=LNG] [--radius METRES] [--description D] [--rules R]
  approve <username>                         activate an account waiting for approval
  suspend <username>                         stop an account signing in
  list-members | list-neighbourhoods         print them (add --json for JSON)`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    password: { type: 'string' },
    name: { type: 'string' },
    place: { type: 'string' },
    owner: { type: 'string' },
    latitude: { type: 'string' },
    longitude: { type: 'string' },
    radius: { type: 'string' },
    description: { type: 'string' },
    rules: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const [command, subject] = positionals;
if (!command || values.help) {
  console.log(usage);
  process.exit(command || values.help ? 0 : 2);
}

function need(value: string | undefined, what: string): string {
  if (!value) {
    console.error(`square-mile admin: ${command} needs ${what}\n\n${usage}`);
    process.exit(2);
  }
  return value;
}

function number(value: string | undefined, what: string): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isFinite(n)) {
    console.error(`square-mile admin: ${what} must be a number, not "${value}"`);
    process.exit(2);
  }
  return n;
}

function print(rows: Record<string, unknown>[]) {
  if (values.json) console.log(JSON.stringify(rows));
  else for (const row of rows) console.log(Object.values(row).join('\t'));
}

const { db } = await openForCommand();
try {
  switch (command) {
    case 'create-admin':
    case 'create-user': {
      const username = need(subject, 'a username');
      const password = need(values.password ?? process.env.ADMIN_PASSWORD, 'a password (--password or ADMIN_PASSWORD)');
      const member = await accounts.register(db, { username, password }, {
        registration: 'admin',
        role: command === 'create-admin' ? 'admin' : 'member',
      });
      print([{ id: member.id, username: member.username, role: member.role }]);
      break;
    }
    case 'create-neighbourhood': {
      const handle = need(subject, 'a handle');
      const ownerName = need(values.owner, '--owner');
      const owner = await accounts.memberByUsername(db, ownerName);
      if (!owner) throw new AppError(404, 'not_found', `No member called ${ownerName}.`);
      const created = await neighbourhoods.createNeighbourhood(db, owner, handle, {
        name: need(values.name, '--name'),
        description: values.description ?? '',
        rules: values.rules ?? '',
        locality: {
          placeName: need(values.place, '--place'),
          latitude: number(values.latitude, '--latitude'),
          longitude: number(values.longitude, '--longitude'),
          radiusMetres: number(values.radius, '--radius'),
        },
      });
      print([{ id: created.id, handle: created.handle, name: created.name }]);
      break;
    }
    case 'approve':
    case 'suspend': {
      const member = await accounts.setMemberStatus(db, need(subject, 'a username'), command === 'approve' ? 'active' : 'suspended');
      print([{ id: member.id, username: member.username, status: member.status }]);
      break;
    }
    case 'list-members':
      print((await accounts.listMembers(db)).map((m) => ({ id: m.id, username: m.username, role: m.role, status: m.status })));
      break;
    case 'list-neighbourhoods':
      print((await neighbourhoods.listAll(db)).map((n) => ({ id: n.id, handle: n.handle, name: n.name, place: n.place_name, members: n.member_count })));
      break;
    default:
      console.error(`square-mile admin: unknown command "${command}"\n\n${usage}`);
      process.exitCode = 2;
  }
} catch (error) {
  if (!(error instanceof AppError)) throw error;
  console.error(`square-mile admin: ${error.message}`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
