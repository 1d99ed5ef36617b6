import { PassThrough, Readable } from 'node:stream';

import type { CliCommand } from '../../lib/cli/cliIo';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in-process with captured streams, as a person would from the shell. */
export async function runCommand(
  command: CliCommand,
  args: string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));

  const code = await command(args, {
    stdin: Readable.from([options.stdin ?? '']),
    stdout,
    stderr,
    env: options.env ?? {},
  });

  return {
    code,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}
