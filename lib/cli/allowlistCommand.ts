import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { AdminApiRequestError } from '../adminApi/adminApiRequestError';
import { entryTerms } from '../adminApi/entryResource';
import { importAllowlist } from '../adminApi/importAllowlist';
import { InvitersApiClient } from '../adminApi/invitersApiClient';
import { localPrincipal } from '../adminApi/localPrincipal';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliIo } from './cliIo';

const DEFAULT_URL = 'http://127.0.0.1:7071';
const LOCAL_CALLER = 'allowlist-cli@localhost';

const USAGE = `Usage: npm run cli -- allowlist export FILE [options]
       npm run cli -- allowlist import FILE [options]

Backs up or seeds the allowlist through the admin API, so every change is checked,
recorded in the audit table and announced like any other. FILE "-" is standard
output (export) or standard input (import).
  export   writes a JSON array of {inviter, expiresAt?, allowedDomains?, note?}
  import   PUTs each entry; reports a refused entry and goes on; skips entries
           whose expiresAt has passed (the API refuses them)
Options:
  --url URL          the app (default ${DEFAULT_URL}, i.e. "serve")
  --as UPN           local mode: call as this user, with the Inviters.ReadWrite role
                     (default on this machine: ${LOCAL_CALLER})
  --principal B64    local mode: send this x-ms-client-principal as it is
  --code KEY         Azure: the function key (or set ADMIN_API_FUNCTION_KEY)
  --token TOKEN      Azure: an Entra access token for the API (or set ADMIN_API_TOKEN)
Exit status: 0 when every entry went through (skipped ones included), 1 when an
entry or the API failed (for export: a stored entity that is not a valid entry,
so the backup is incomplete), 2 for a usage error.
`;

export const allowlistCommand: CliCommand = async (args, io) => {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: DEFAULT_URL },
        as: { type: 'string' },
        principal: { type: 'string' },
        code: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError(io, error instanceof Error ? error.message : String(error));
  }

  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stderr.write(USAGE);

    return EXIT_OK;
  }
  const [action, file, ...extra] = positionals;
  if ((action !== 'export' && action !== 'import') || file === undefined || extra.length > 0) {
    return usageError(io, 'give "export FILE" or "import FILE"');
  }
  if (values.as !== undefined && values.principal !== undefined) {
    return usageError(io, 'give --as or --principal, not both');
  }

  let baseUrl: URL;
  try {
    baseUrl = new URL(values.url);
  } catch {
    return usageError(io, `--url is not a URL: ${values.url}`);
  }
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(baseUrl.hostname);
  const principal =
    values.principal ??
    (values.as !== undefined || local ? localPrincipal(values.as ?? LOCAL_CALLER) : undefined);
  const functionKey = values.code ?? nonEmpty(io.env.ADMIN_API_FUNCTION_KEY);
  const bearerToken = values.token ?? nonEmpty(io.env.ADMIN_API_TOKEN);
  const client = new InvitersApiClient({
    baseUrl: baseUrl.toString(),
    ...(principal === undefined ? {} : { principal }),
    ...(functionKey === undefined ? {} : { functionKey }),
    ...(bearerToken === undefined ? {} : { bearerToken }),
  });

  try {
    return action === 'export'
      ? await exportTo(file, client, io)
      : await importFrom(file, client, io);
  } catch (error) {
    if (error instanceof AdminApiRequestError) {
      io.stderr.write(`error: ${error.message}\n`);

      return EXIT_FAILURE;
    }
    throw error;
  }
};

async function exportTo(file: string, client: InvitersApiClient, io: CliIo): Promise<number> {
  const listing = await client.listAll();
  const entries = listing.entries.map(entryTerms);
  const text = `${JSON.stringify(entries, null, 2)}\n`;

  if (file === '-') {
    io.stdout.write(text);
  } else {
    await writeFile(file, text, 'utf8');
  }
  for (const problem of listing.problems) {
    io.stderr.write(`not exported: ${problem}\n`);
  }
  io.stderr.write(
    `exported ${entries.length} allowlist entries${file === '-' ? '' : ` to ${file}`}\n`,
  );
  if (listing.problems.length > 0) {
    io.stderr.write(incompleteBackup(listing.problems.length));

    return EXIT_FAILURE;
  }

  return EXIT_OK;
}

/** Exit 1 and say so: a backup that silently lacks entities would restore a different allowlist. */
function incompleteBackup(count: number): string {
  const what =
    count === 1
      ? '1 stored entity (above) is not a valid allowlist entry, so it was not exported. It ' +
        'approves nothing; replace it'
      : `${count} stored entities (above) are not valid allowlist entries, so they were not ` +
        'exported. They approve nothing; replace each';

  return (
    `error: the backup is incomplete: ${what} with PUT, or remove it with DELETE, through the ` +
    'API, then export again.\n'
  );
}

async function importFrom(file: string, client: InvitersApiClient, io: CliIo): Promise<number> {
  let document: unknown;
  try {
    const text = file === '-' ? await readStream(io.stdin) : await readFile(file, 'utf8');
    document = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    io.stderr.write(
      `error: ${file}: ${code === 'ENOENT' ? 'no such file' : error instanceof SyntaxError ? 'not valid JSON' : 'cannot be read'}\n`,
    );

    return EXIT_FAILURE;
  }

  let report;
  try {
    report = await importAllowlist(document, client, new Date(), (line) => {
      io.stderr.write(`${line}\n`);
    });
  } catch (error) {
    if (error instanceof TypeError) {
      io.stderr.write(`error: ${file}: ${error.message}\n`);

      return EXIT_FAILURE;
    }
    throw error;
  }
  io.stderr.write(
    `imported ${report.imported}, skipped ${report.skipped.length} (expired), failed ${report.failed.length}\n`,
  );

  return report.failed.length === 0 ? EXIT_OK : EXIT_FAILURE;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }

  return Buffer.concat(chunks).toString('utf8');
}

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`error: ${message}\n\n${USAGE}`);

  return EXIT_USAGE;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
