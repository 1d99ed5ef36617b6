import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { startAzurite } from '../azuriteProcess';
import { loadSettings } from '../settings';
import { readAllowlistFile } from '../readAllowlistFile';
import { TableAllowlistStore } from '../tableAllowlistStore';
import { createTableClient } from '../tableServiceClients';
import { EXIT_OK, EXIT_USAGE, type CliCommand } from './cliIo';
import { scanCommand } from './scanCommand';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'streams');
const USAGE = `Usage: npm run demo [-- [--allowlist FILE] [--teams URL] [--webhook URL] [FILE...]]

Runs the detector on this machine with nothing configured: starts Azurite in memory,
stores the sample allowlist in its table, scans the bundled sample Event Hubs batch
(or FILE...) against that table and prints the alerts. Alerts also go to any --teams
or --webhook URL given.
`;

export const demoCommand: CliCommand = async (args, io) => {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        allowlist: { type: 'string', default: join(FIXTURES, 'sample-allowlist.json') },
        teams: { type: 'string', multiple: true },
        webhook: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);

    return EXIT_USAGE;
  }
  if (parsed.values.help === true) {
    io.stderr.write(USAGE);

    return EXIT_OK;
  }

  const files =
    parsed.positionals.length > 0
      ? parsed.positionals
      : [join(FIXTURES, 'sample-eventhub-batch.json')];
  const entries = await readAllowlistFile(parsed.values.allowlist);

  io.stderr.write('starting Azurite (in memory) for the allowlist table...\n');
  const azurite = await startAzurite();
  try {
    const env: NodeJS.ProcessEnv = {
      ...io.env,
      TABLES_CONNECTION_STRING: azurite.connectionString,
      TABLES_ENDPOINT: '',
    };
    const store = new TableAllowlistStore(
      createTableClient(
        { kind: 'connection-string', connectionString: azurite.connectionString },
        loadSettings(env).allowlistTable,
      ),
    );
    await store.ensureTable();
    for (const entry of entries) {
      await store.upsertEntry(entry, { createdBy: 'demo', createdAt: new Date().toISOString() });
    }
    io.stderr.write(`stored ${entries.length} allowlist entries in Azurite\n`);

    const scanArgs = [
      ...(parsed.values.teams ?? []).flatMap((url) => ['--teams', url]),
      ...(parsed.values.webhook ?? []).flatMap((url) => ['--webhook', url]),
      ...files,
    ];

    return await scanCommand(scanArgs, { ...io, env });
  } finally {
    await azurite.stop();
  }
};
