import type { Readable } from 'node:stream';

const LF = 10;
const CR = 13;

/**
 * The lines of a stream, a chunk's worth at a time, split as readline splits them with
 * `crlfDelay: Infinity`: at "\n", "\r\n" or a lone "\r", the last line only when not empty.
 * Bytes are split before they are decoded, each line on its own, which costs a third of
 * what readline does (its decoder, regular expression and one event per line); "\n" and "\r"
 * never occur inside a UTF-8 sequence, so the text is the same.
 *
 * A line that spans chunks is kept as a list of pieces and joined once, when it ends: joining
 * at every chunk would copy a long line once per chunk, quadratic in its length. A line longer
 * than `maxLineBytes` (UTF-16 units for a stream of strings) throws `tooLong(itsLineNumber)`
 * before it is held whole.
 */
export async function* readLines(
  input: Readable,
  maxLineBytes: number,
  tooLong: (lineNumber: number) => Error,
): AsyncGenerator<string[], void, undefined> {
  let pieces: (Buffer | string)[] = [];
  let piecesLength = 0;
  let linesRead = 0;

  for await (const received of input as AsyncIterable<Uint8Array | string>) {
    const chunk = typeof received === 'string' ? received : asBuffer(received);
    if (pieces.length > 0 && !hasLineBreak(chunk) && !endsWithCr(pieces)) {
      pieces.push(chunk);
      piecesLength += chunk.length;
      if (piecesLength > maxLineBytes) {
        throw tooLong(linesRead + 1);
      }
      continue;
    }

    const text = pieces.length === 0 ? chunk : joinPieces([...pieces, chunk]);
    const lines: string[] = [];
    const rest = splitLines(text, lines, false);
    linesRead += lines.length;
    pieces = rest === undefined ? [] : [rest];
    piecesLength = rest === undefined ? 0 : rest.length;
    if (piecesLength > maxLineBytes) {
      throw tooLong(linesRead + 1);
    }
    if (lines.length > 0) {
      yield lines;
    }
  }

  if (pieces.length > 0) {
    const lines: string[] = [];
    const last = splitLines(joinPieces(pieces), lines, true);
    if (last !== undefined) {
      lines.push(decodePiece(last, 0, last.length));
    }
    if (lines.length > 0) {
      yield lines;
    }
  }
}

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

function hasLineBreak(chunk: Buffer | string): boolean {
  return indexOfByte(chunk, LF, 0) !== -1 || indexOfByte(chunk, CR, 0) !== -1;
}

/** A held "\r" may be the first half of a "\r\n", so the next chunk must be split with it. */
function endsWithCr(pieces: (Buffer | string)[]): boolean {
  const last = pieces[pieces.length - 1];
  if (last === undefined || last.length === 0) {
    return false;
  }

  return typeof last === 'string'
    ? last.charCodeAt(last.length - 1) === CR
    : last[last.length - 1] === CR;
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

/** The pieces of one line, joined once; a stream gives either strings or bytes, not both. */
function joinPieces(pieces: (Buffer | string)[]): Buffer | string {
  if (pieces.every((piece) => typeof piece === 'string')) {
    return pieces.join('');
  }

  return Buffer.concat(
    pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)),
  );
}
