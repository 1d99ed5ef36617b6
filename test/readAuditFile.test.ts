import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';

import { UnparsableElement, type LocatedElement } from '../lib/auditInput';
import { readAuditStream, type AuditStreamOptions } from '../lib/readAuditFile';
import { fixturePath, sampleRecords } from './support/fixtures';

const BATCH = fixturePath('streams/sample-eventhub-batch.json');

/** The bytes of `text` as a stream of chunks of `size`, as a slow pipe or a file read gives them. */
function chunked(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) {
    chunks.push(bytes.subarray(start, start + size));
  }

  return Readable.from(chunks);
}

async function readAll(
  input: Readable,
  name: string,
  options?: AuditStreamOptions,
): Promise<LocatedElement[]> {
  const read: LocatedElement[] = [];
  for await (const located of readAuditStream(input, name, options)) {
    read.push(located);
  }

  return read;
}

describe('readAuditStream', () => {
  it('reads a 3 MB one-line Event Hubs message arriving in 1 KB chunks whole', async () => {
    const invitation = sampleRecords()[3];
    const message = JSON.stringify({ records: Array.from({ length: 2000 }, () => invitation) });
    expect(message.length).toBeGreaterThan(3_000_000);

    // Its pieces are joined once, not at every chunk (which was quadratic in the line's
    // length); how long that takes is the benchmark's to measure, not this test's.
    const read = await readAll(chunked(`${message}\n`, 1024), 'export');

    expect(read).toHaveLength(2000);
    expect(read[1999]?.where).toBe('export:1, record 1999');
  });

  it('refuses a line longer than the size cap, naming the line, after the lines before it', async () => {
    const [signIn] = sampleRecords();
    const huge = JSON.stringify({ records: Array.from({ length: 100 }, () => signIn) });
    const read: LocatedElement[] = [];

    const reading = (async () => {
      const input = chunked(`${JSON.stringify(signIn)}\n${huge}\n`, 1024);
      for await (const located of readAuditStream(input, 'export', { maxDocumentBytes: 65536 })) {
        read.push(located);
      }
    })();

    await expect(reading).rejects.toThrow(
      'export: line 2 is longer than 65536 bytes; split the export into NDJSON, one record per line',
    );
    expect(read.map((located) => located.where)).toEqual(['export:1']);
  });

  it.each([
    ['standard input', 'stdin', {}],
    ['a file', BATCH, { reopen: () => createReadStream(BATCH) }],
  ])(
    'refuses a multi-line document from %s larger than the size cap, saying what to do',
    async (_source, name, options: AuditStreamOptions) => {
      const reading = readAll(createReadStream(BATCH), name, {
        ...options,
        maxDocumentBytes: 4096,
      });

      await expect(reading).rejects.toThrow(
        `${name}: line 1 is not complete JSON, so the input was read as one multi-line JSON ` +
          'document, and that is larger than 4096 bytes; convert it to NDJSON (one record per ' +
          'line), or if it is NDJSON already, fix or remove line 1',
      );
    },
  );

  it('reads a pretty-printed document from a stream it cannot reopen, standard input', async () => {
    const read = await readAll(chunked(readFileSync(BATCH, 'utf8'), 512), 'stdin');

    expect(read.map((located) => located.where)).toEqual([
      'stdin, record 0',
      'stdin, record 1',
      'stdin, record 2',
      'stdin, record 3',
      'stdin, record 4',
    ]);
  });

  it('takes an input whose first 1000 lines are not JSON for another format, and stops', async () => {
    const [signIn] = sampleRecords();
    const text = [...Array.from({ length: 1000 }, (_, n) => `row ${n},Sign-in activity`)];
    text.push(JSON.stringify(signIn));

    await expect(readAll(Readable.from([text.join('\n')]), 'report.txt')).rejects.toThrow(
      'report.txt: none of its first 1000 lines is JSON (line 1: Unexpected token); ' +
        'expected a JSON document or NDJSON, one JSON value per line',
    );
  });

  it('hands on the broken lines held back before the first JSON line once one comes', async () => {
    const [signIn] = sampleRecords();
    const text = ['Exported 2026-11-19 from the workspace', '', JSON.stringify(signIn), 'trailer'];

    const read = await readAll(Readable.from([text.join('\n')]), 'export');

    expect(
      read.map((located) => [located.where, located.element instanceof UnparsableElement]),
    ).toEqual([
      ['export:1', true],
      ['export:3', false],
      ['export:4', true],
    ]);
    expect(read[0]?.element).toEqual(new UnparsableElement('not JSON (Unexpected token)'));
  });
});
