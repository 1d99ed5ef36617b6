import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Azurite's well-known development account; it is public, documented and not a secret. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  connectionString: string;
  port: number;
  stop(): Promise<void>;
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function azuriteConnectionString(port: number): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${DEV_ACCOUNT}`,
    `AccountKey=${DEV_KEY}`,
    `TableEndpoint=http://127.0.0.1:${port}/${DEV_ACCOUNT}`,
  ].join(';');
}

function azuriteTableBin(): string {
  // Resolved from the package so it works whatever the current directory is.
  const packageJson = require.resolve('azurite/package.json');

  return join(packageJson, '..', 'dist', 'src', 'table', 'main.js');
}

export interface AzuriteOptions {
  /** Keep the data in this folder instead of memory, so it survives a stop and a restart. */
  location?: string;
}

/**
 * Starts Azurite's table service on a free loopback port, in memory unless a location is
 * given. Azurite has no Node API, so it runs as a child process; the promise resolves once
 * it accepts connections.
 */
export async function startAzurite(
  port?: number,
  options: AzuriteOptions = {},
): Promise<RunningAzurite> {
  const chosenPort = port ?? (await findFreePort());
  const child: ChildProcess = spawn(
    process.execPath,
    [
      azuriteTableBin(),
      ...(options.location === undefined
        ? ['--inMemoryPersistence']
        : ['--location', options.location]),
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(chosenPort),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );

  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      reject(new Error(`Azurite did not start within 20 s: ${output.slice(-500)}`));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('successfully started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${String(code)} before starting: ${output}`));
    });
  });

  child.stdout?.resume();
  child.stderr?.resume();

  return {
    connectionString: azuriteConnectionString(chosenPort),
    port: chosenPort,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();

          return;
        }
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        // SIGINT makes Azurite write its data to the location first; SIGTERM ends it at once.
        child.kill(options.location === undefined ? 'SIGTERM' : 'SIGINT');
      }),
  };
}
