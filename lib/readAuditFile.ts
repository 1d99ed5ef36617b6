import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

import { elementsOf, UnparsableElement, type LocatedElement } from './auditInput';

/** A pretty-printed (multi-line) JSON document is read whole; larger ones must be NDJSON. */
export const MAX_WHOLE_DOCUMENT_BYTES = 256 * 1024 * 1024;

export class UnreadableFileError extends Error {
  override readonly name = 'UnreadableFileError';

  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }
}

/**
 * The records of one file or stream, as JSON or NDJSON, one at a time, so memory does not
 * grow with the input. Each line of NDJSON may itself be an envelope (`{"records":[...]}`).
 * A JSON document spread over several lines is recognised when its first line is not
 * complete JSON; it is then read whole (up to MAX_WHOLE_DOCUMENT_BYTES).
 * Lines that are not JSON come out as UnparsableElement with their line number.
 */
export async function* readAuditStream(
  input: Readable,
  name: string,
  reopen?: () => Readable,
  linesOnly = false,
): AsyncGenerator<LocatedElement> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  let sawRecord = false;

  for await (const line of lines) {
    lineNumber += 1;
    const trimmed = lineNumber === 1 ? line.replace(/^\uFEFF/, '').trim() : line.trim();
    if (trimmed === '') {
      continue;
    }

    let document: unknown;
    try {
      document = JSON.parse(trimmed) as unknown;
    } catch (error) {
      if (!linesOnly && !sawRecord && (trimmed.startsWith('{') || trimmed.startsWith('['))) {
        lines.close();
        input.destroy();
        yield* readWholeDocument(name, reopen);

        return;
      }
      sawRecord = true;
      yield {
        where: `${name}:${lineNumber}`,
        element: new UnparsableElement(`not JSON (${parseMessage(error)})`),
      };
      continue;
    }

    sawRecord = true;
    yield* elementsOf(document, `${name}:${lineNumber}`);
  }
}

async function* readWholeDocument(
  name: string,
  reopen: (() => Readable) | undefined,
): AsyncGenerator<LocatedElement> {
  if (reopen === undefined) {
    throw new UnreadableFileError(
      name,
      'multi-line JSON on standard input is not supported; send NDJSON (one JSON value per line)',
    );
  }

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of reopen()) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_WHOLE_DOCUMENT_BYTES) {
      throw new UnreadableFileError(
        name,
        `a multi-line JSON document larger than ${MAX_WHOLE_DOCUMENT_BYTES / 1024 / 1024} MB cannot be read whole; convert it to NDJSON (one record per line)`,
      );
    }
    chunks.push(buffer);
  }

  let document: unknown;
  try {
    document = JSON.parse(
      Buffer.concat(chunks)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
    ) as unknown;
  } catch (error) {
    yield {
      where: name,
      element: new UnparsableElement(`neither NDJSON nor a JSON document (${parseMessage(error)})`),
    };

    return;
  }

  yield* elementsOf(document, name);
}

/** The records of a file; `-` is standard input. Throws UnreadableFileError when it cannot be opened. */
export async function* readAuditFile(
  path: string,
  stdin: Readable,
): AsyncGenerator<LocatedElement> {
  if (path === '-') {
    yield* readAuditStream(stdin, 'stdin');

    return;
  }

  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new UnreadableFileError(path, 'is not a file');
    }
  } catch (error) {
    if (error instanceof UnreadableFileError) {
      throw error;
    }
    const code = (error as { code?: unknown }).code;
    throw new UnreadableFileError(
      path,
      code === 'ENOENT'
        ? 'no such file'
        : `cannot be read (${typeof code === 'string' ? code : 'error'})`,
      { cause: error },
    );
  }

  yield* readAuditStream(createReadStream(path), path, () => createReadStream(path));
}

function parseMessage(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 120) : 'parse error';
}
