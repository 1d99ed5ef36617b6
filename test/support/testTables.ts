import { randomUUID } from 'node:crypto';

/** The connection string of the Azurite that the test run started (see globalSetup). */
export function testTablesConnectionString(): string {
  const value = process.env.TEST_TABLES_CONNECTION_STRING;
  if (value === undefined) {
    throw new Error('TEST_TABLES_CONNECTION_STRING is not set: run the tests through jest.');
  }

  return value;
}

/** A table name no other test uses, so tests can run in parallel against one Azurite. */
export function uniqueTableName(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}
