import { Readable } from 'node:stream';

import { readLines } from '../lib/readLines';

async function linesOf(chunks: (Buffer | string)[], maxLineBytes = 1024): Promise<string[]> {
  const lines: string[] = [];
  const input = Readable.from(chunks);
  for await (const batch of readLines(input, maxLineBytes, (n) => new Error(`line ${n}`))) {
    lines.push(...batch);
  }

  return lines;
}

describe('readLines', () => {
  it.each([
    ['a line cut across three chunks', ['{"a"', ':', '1}\n{"b":2}'], ['{"a":1}', '{"b":2}']],
    ['"\\r\\n" split between chunks', ['one\r', '\ntwo\r\n'], ['one', 'two']],
    ['a lone "\\r" at the end of a chunk', ['one\r', 'two'], ['one', 'two']],
    [
      'a lone "\\r" before a chunk with no break',
      ['one', 'two\r', 'three', 'four'],
      ['onetwo', 'threefour'],
    ],
    ['blank lines between "\\r\\n" breaks', ['a\r\n\r\nb\r'], ['a', '', 'b']],
    ['a last line without a break', ['x', 'y'], ['xy']],
  ])('splits %s as readline does', async (_case, chunks, expected) => {
    expect(await linesOf(chunks.map((chunk) => Buffer.from(chunk)))).toEqual(expected);
    expect(await linesOf(chunks)).toEqual(expected);
  });

  it('decodes a UTF-8 character whose bytes two chunks share', async () => {
    const bytes = Buffer.from('{"displayName": "Zoë Müller"}\n');
    const middleOfE = bytes.indexOf(0xc3) + 1;

    const lines = await linesOf([bytes.subarray(0, middleOfE), bytes.subarray(middleOfE)]);

    expect(lines).toEqual(['{"displayName": "Zoë Müller"}']);
  });

  it('throws the error made for a line over the limit, with its line number', async () => {
    const chunks = ['short\nx', 'x'.repeat(600), 'x'.repeat(600), '\nnext\n'];

    await expect(linesOf(chunks)).rejects.toThrow('line 2');
  });
});
