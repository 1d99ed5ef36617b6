import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';

import { elementsOf, UnparsableElement, type LocatedElement } from './auditInput';
import { readLines } from './readLines';

/**
 * A pretty-printed (multi-line) JSON document, and any one line, is held whole up to this
 * size; larger inputs must be NDJSON with shorter lines.
 */
export const MAX_WHOLE_DOCUMENT_BYTES = 256 * 1024 * 1024;

/**
 * Lines that are not JSON at the start of an input are held back until a line that is JSON
 * shows it to be an export with some broken lines. After this many, the input is taken to be
 * of another format (a CSV export, say); the bound keeps what is held back small.
 */
const MAX_LEADING_UNPARSABLE_LINES = 1000;

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

export interface AuditStreamOptions {
  /** Opens the input again from its start. Files can; standard input is buffered instead. */
  reopen?: () => Readable;
  /** MAX_WHOLE_DOCUMENT_BYTES unless given; tests pass a smaller one. */
  maxDocumentBytes?: number;
}

/** The first line of what may be a multi-line JSON document, and the lines read after it. */
interface DocumentStart {
  lineNumber: number;
  lines: string[];
}

/** Lines a batch at a time: a stream's, or the lines standard input had to be buffered into. */
type LineBatches = AsyncIterator<string[], unknown> | Iterator<string[], unknown>;

/**
 * The records of one file or stream, as JSON or NDJSON, one at a time, so memory does not
 * grow with the input. Each line of NDJSON may itself be an envelope (`{"records":[...]}`).
 * A JSON document spread over several lines is recognised when its first line is not
 * complete JSON; it is then read whole (up to MAX_WHOLE_DOCUMENT_BYTES). When the whole does
 * not parse either, the input is NDJSON with a broken first line and is read again line by
 * line from the start. Lines that are not JSON come out as UnparsableElement with their line
 * number; an input none of whose lines is JSON throws UnreadableFileError.
 */
export async function* readAuditStream(
  input: Readable,
  name: string,
  options: AuditStreamOptions = {},
): AsyncGenerator<LocatedElement> {
  const maxBytes = options.maxDocumentBytes ?? MAX_WHOLE_DOCUMENT_BYTES;
  const batches = linesOf(input, name, maxBytes);
  let start: DocumentStart | undefined;
  try {
    start = yield* readNdjson(batches, name, 1, true);
    if (start !== undefined && options.reopen === undefined) {
      await bufferRest(batches, start, name, maxBytes);
    }
  } finally {
    await batches.return(undefined);
  }
  if (start === undefined) {
    return;
  }

  const text =
    options.reopen === undefined
      ? start.lines.join('\n')
      : await readWhole(options.reopen, start, name, maxBytes);
  let document: unknown;
  try {
    document = JSON.parse(text) as unknown;
  } catch {
    // Not one document either, so NDJSON whose first line is broken: its other lines count.
    yield* readNdjsonAgain(start, name, options.reopen, maxBytes);

    return;
  }

  yield* elementsOf(document, name);
}

/**
 * Parses line after line to the end. When `documentMayStart` and the first non-empty line
 * opens a JSON object or array without closing it, stops there and returns where that
 * multi-line document starts.
 */
async function* readNdjson(
  batches: LineBatches,
  name: string,
  firstLineNumber: number,
  documentMayStart: boolean,
): AsyncGenerator<LocatedElement, DocumentStart | undefined> {
  let lineNumber = firstLineNumber - 1;
  let sawLine = false;
  let parsedLine = false;
  let heldBack: LocatedElement[] = [];
  let firstProblem = '';

  for (let batch = await batches.next(); batch.done !== true; batch = await batches.next()) {
    const lines = batch.value;
    for (let index = 0; index < lines.length; index += 1) {
      lineNumber += 1;
      const raw = lines[index] ?? '';
      const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, '').trim() : raw.trim();
      if (line === '') {
        continue;
      }

      let document: unknown;
      try {
        document = JSON.parse(line) as unknown;
      } catch (error) {
        if (documentMayStart && !sawLine && (line.startsWith('{') || line.startsWith('['))) {
          return { lineNumber, lines: [line, ...lines.slice(index + 1)] };
        }
        sawLine = true;
        const reason = parseMessage(error);
        const unparsable: LocatedElement = {
          where: `${name}:${lineNumber}`,
          element: new UnparsableElement(`not JSON (${reason})`),
        };
        if (parsedLine) {
          yield unparsable;
          continue;
        }
        if (heldBack.length === 0) {
          firstProblem = `line ${lineNumber}: ${reason}`;
        }
        heldBack.push(unparsable);
        if (heldBack.length >= MAX_LEADING_UNPARSABLE_LINES) {
          throw notJsonError(name, `none of its first ${heldBack.length} lines is`, firstProblem);
        }
        continue;
      }

      sawLine = true;
      if (!parsedLine) {
        parsedLine = true;
        yield* heldBack;
        heldBack = [];
      }
      yield* elementsOf(document, `${name}:${lineNumber}`);
    }
  }

  if (!parsedLine && heldBack.length > 0) {
    const which =
      heldBack.length === 1 ? 'its one line is not' : `none of its ${heldBack.length} lines is`;
    throw notJsonError(name, which, firstProblem);
  }

  return undefined;
}

/** The second pass over an input that turned out not to be one multi-line document. */
async function* readNdjsonAgain(
  start: DocumentStart,
  name: string,
  reopen: (() => Readable) | undefined,
  maxBytes: number,
): AsyncGenerator<LocatedElement> {
  if (reopen === undefined) {
    yield* readNdjson([start.lines].values(), name, start.lineNumber, false);

    return;
  }

  const batches = linesOf(reopen(), name, maxBytes);
  try {
    yield* readNdjson(batches, name, 1, false);
  } finally {
    await batches.return(undefined);
  }
}

/**
 * Adds the rest of standard input to `start.lines`: it cannot be read twice, so the lines of
 * what may be one document are held, to parse whole and, failing that, line by line. Sizes
 * count UTF-16 units, near enough the size in bytes for JSON text.
 */
async function bufferRest(
  batches: LineBatches,
  start: DocumentStart,
  name: string,
  maxBytes: number,
): Promise<void> {
  const lines = start.lines;
  let size = 0;
  for (const line of lines) {
    size += line.length + 1;
  }

  for (let batch = await batches.next(); batch.done !== true; batch = await batches.next()) {
    for (const line of batch.value) {
      lines.push(line);
      size += line.length + 1;
    }
    if (size > maxBytes) {
      throw documentTooLargeError(name, start.lineNumber, maxBytes);
    }
  }
}

/** A file read again whole; its chunks are kept in a list and joined once. */
async function readWhole(
  reopen: () => Readable,
  start: DocumentStart,
  name: string,
  maxBytes: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of reopen() as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      throw documentTooLargeError(name, start.lineNumber, maxBytes);
    }
    chunks.push(chunk);
  }

  return Buffer.concat(chunks, size)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
}

function linesOf(
  input: Readable,
  name: string,
  maxBytes: number,
): AsyncGenerator<string[], void, undefined> {
  return readLines(
    input,
    maxBytes,
    (lineNumber) =>
      new UnreadableFileError(
        name,
        `line ${lineNumber} is longer than ${describeSize(maxBytes)}; ` +
          'split the export into NDJSON, one record per line',
      ),
  );
}

function notJsonError(name: string, which: string, firstProblem: string): UnreadableFileError {
  return new UnreadableFileError(
    name,
    `${which} JSON (${firstProblem}); expected a JSON document or NDJSON, one JSON value per line`,
  );
}

function documentTooLargeError(
  name: string,
  lineNumber: number,
  maxBytes: number,
): UnreadableFileError {
  return new UnreadableFileError(
    name,
    `line ${lineNumber} is not complete JSON, so the input was read as one multi-line JSON ` +
      `document, and that is larger than ${describeSize(maxBytes)}; convert it to NDJSON ` +
      `(one record per line), or if it is NDJSON already, fix or remove line ${lineNumber}`,
  );
}

function describeSize(bytes: number): string {
  const mebibyte = 1024 * 1024;

  return bytes % mebibyte === 0 ? `${bytes / mebibyte} MB` : `${bytes} bytes`;
}

/**
 * The records of a file; `-` is standard input. Throws UnreadableFileError when it cannot be
 * opened, or is not JSON or NDJSON at all (see readAuditStream).
 */
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

  yield* readAuditStream(createReadStream(path), path, { reopen: () => createReadStream(path) });
}

/**
 * The parser's reason. After "Unexpected token" V8 quotes the start of the input, which is
 * audit data, so that message is cut to its first words; the others name only positions.
 */
function parseMessage(error: unknown): string {
  if (!(error instanceof Error)) {
    return 'parse error';
  }

  // Node 22 adds "(line 1 column 248)" where Node 20 stops at the position: one message for both.
  return error.message.startsWith('Unexpected token')
    ? 'Unexpected token'
    : error.message.replace(/ \(line \d+ column \d+\)$/, '').slice(0, 120);
}
