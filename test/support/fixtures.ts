import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', 'fixtures');

/** A parsed fixture file under test/fixtures. */
export function fixture(relativePath: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, relativePath), 'utf8')) as unknown;
}

export function fixturePath(relativePath: string): string {
  return join(FIXTURES, relativePath);
}

/** The records of the sample Event Hubs message, by position. */
export function sampleRecords(): unknown[] {
  return (fixture('streams/sample-eventhub-batch.json') as { records: unknown[] }).records;
}
