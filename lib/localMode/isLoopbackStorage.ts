import { tableEndpointOf, type TablesConnection } from '../tableServiceClients';

/** 127.0.0.0/8, localhost and ::1: where Azurite runs on a developer's machine. */
const LOOPBACK_HOST = /^(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])$/i;

/**
 * True when the tables are on this machine (Azurite): development storage, or a connection
 * string whose TableEndpoint is a loopback address. TABLES_ENDPOINT, or a connection string
 * naming an account in Azure, is shared Table Storage.
 */
export function isLoopbackStorage(connection: TablesConnection): boolean {
  return hasLoopbackHost(
    connection.kind === 'connection-string'
      ? tableEndpointOf(connection.connectionString)
      : connection.endpoint,
  );
}

function hasLoopbackHost(url: string): boolean {
  try {
    return LOOPBACK_HOST.test(new URL(url).hostname);
  } catch {
    // Not a URL: nothing says it is this machine.
    return false;
  }
}
