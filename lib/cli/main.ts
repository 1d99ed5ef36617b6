import { EXIT_USAGE, type CliCommand, type CliIo } from './cliIo';

interface CommandEntry {
  summary: string;
  load: () => Promise<CliCommand>;
}

// Each command loads its module only when chosen, so `scan` never pays for the Event Hubs
// client and start-up stays cheap.
const commands: Record<string, CommandEntry> = {
  allowlist: {
    summary: 'export or import the allowlist through the admin API (backups, seeding)',
    load: async () => (await import('./allowlistCommand')).allowlistCommand,
  },
  demo: {
    summary: 'run the detector on the bundled sample with an in-memory Azurite allowlist',
    load: async () => (await import('./demoCommand')).demoCommand,
  },
  replay: {
    summary: 'replay dead-lettered records, expired alerts or pending alerts from the tables',
    load: async () => (await import('./replayCommand')).replayCommand,
  },
  scan: {
    summary: 'scan audit log files or standard input and print alerts',
    load: async () => (await import('./scanCommand')).scanCommand,
  },
  'send-test-event': {
    summary: 'send one synthetic invitation to the deployed Event Hub',
    load: async () => (await import('./sendTestEventCommand')).sendTestEventCommand,
  },
  serve: {
    summary: 'run the admin API and the detector locally (Azurite when no storage is set)',
    load: async () => (await import('./serveCommand')).serveCommand,
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(
    ([name, entry]) => `  ${name.padEnd(18)}${entry.summary}`,
  );

  return ['Usage: npm run cli -- <command> [options]', '', 'Commands:', ...lines, ''].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stderr.write(usage());

    return name === undefined ? EXIT_USAGE : 0;
  }

  const entry = commands[name];
  if (entry === undefined) {
    io.stderr.write(`Unknown command "${name}".\n\n${usage()}`);

    return EXIT_USAGE;
  }

  const command = await entry.load();

  return command(args, io);
}

if (require.main === module) {
  const io: CliIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
