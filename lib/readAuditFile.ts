import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';

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
  let lineNumber = 0;
  let sawRecord = false;

  for await (const lines of readLines(input)) {
    for (const line of lines) {
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
}

/**
 * The lines of a stream, a chunk's worth at a time, split as readline splits them with
 * `crlfDelay: Infinity`: at "\n", "\r\n" or a lone "\r", the last line only when not empty.
 * Bytes are split before they are decoded, each line on its own, which costs a third of
 * what readline does (its decoder, regular expression and one event per line); "\n" and "\r"
 * never occur inside a UTF-8 sequence, so the text is the same.
 */
async function* readLines(input: Readable): AsyncGenerator<string[]> {
  let carried: Buffer | string | undefined;
  for await (const received of input as AsyncIterable<Uint8Array | string>) {
    const chunk = typeof received === 'string' ? received : asBuffer(received);
    const text = carried === undefined ? chunk : joinPieces(carried, chunk);
    const lines: string[] = [];
    carried = splitLines(text, lines, false);
    if (lines.length > 0) {
      yield lines;
    }
  }

  if (carried !== undefined) {
    const lines: string[] = [];
    const last = splitLines(carried, lines, true);
    if (last !== undefined) {
      lines.push(decodePiece(last, 0, last.length));
    }
    if (lines.length > 0) {
      yield lines;
    }
  }
}

const LF = 10;
const CR = 13;

/**
 * Adds the complete lines of `text` to `lines` and returns what is left after the last line
 * break, if anything. A "\r" at the very end waits for the next chunk (it may be half of a
 * "\r\n"), unless this is the end of the stream.
 */
function splitLines(
  text: Buffer | string,
  lines: string[],
  atEnd: boolean,
): Buffer | string | undefined {
  let start = 0;
  let nextCr = indexOfByte(text, CR, 0);
  for (;;) {
    if (nextCr !== -1 && nextCr < start) {
      nextCr = indexOfByte(text, CR, start);
    }
    const nextLf = indexOfByte(text, LF, start);
    let end: number;
    let next: number;
    if (nextCr !== -1 && (nextLf === -1 || nextCr < nextLf)) {
      if (nextCr === text.length - 1 && !atEnd) {
        break;
      }
      end = nextCr;
      next = nextLf === nextCr + 1 ? nextLf + 1 : nextCr + 1;
    } else if (nextLf !== -1) {
      end = nextLf;
      next = nextLf + 1;
    } else {
      break;
    }
    lines.push(decodePiece(text, start, end));
    start = next;
  }

  if (start >= text.length) {
    return undefined;
  }

  return typeof text === 'string' ? text.slice(start) : text.subarray(start);
}

function indexOfByte(text: Buffer | string, code: number, from: number): number {
  return typeof text === 'string'
    ? text.indexOf(String.fromCharCode(code), from)
    : text.indexOf(code, from);
}

function decodePiece(text: Buffer | string, start: number, end: number): string {
  return typeof text === 'string' ? text.slice(start, end) : text.toString('utf8', start, end);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A line cut by a chunk boundary, joined to the next chunk; streams do not mix the two kinds. */
function joinPieces(carried: Buffer | string, chunk: Buffer | string): Buffer | string {
  if (typeof chunk === 'string') {
    return (typeof carried === 'string' ? carried : carried.toString('utf8')) + chunk;
  }

  return Buffer.concat([typeof carried === 'string' ? Buffer.from(carried) : carried, chunk]);
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
