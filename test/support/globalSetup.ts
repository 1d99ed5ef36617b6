import { startAzurite, type RunningAzurite } from '../../lib/azuriteProcess';

declare global {
  var azuriteForTests: RunningAzurite | undefined;
}

/** Starts one in-memory Azurite for the whole run; workers inherit its connection string. */
export default async function globalSetup(): Promise<void> {
  const azurite = await startAzurite();
  globalThis.azuriteForTests = azurite;
  process.env.TEST_TABLES_CONNECTION_STRING = azurite.connectionString;
  process.env.TEST_AZURITE_PORT = String(azurite.port);
}
