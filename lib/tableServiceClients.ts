import { TableClient, TableServiceClient } from '@azure/data-tables';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/** How to reach Table Storage: a connection string (Azurite, development) or an endpoint. */
export type TablesConnection =
  { kind: 'connection-string'; connectionString: string } | { kind: 'endpoint'; endpoint: string };

const LOOPBACK = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//i;

/**
 * A TableClient for one table. In Azure the endpoint is used with DefaultAzureCredential, so
 * the function's managed identity signs in and no key exists anywhere. Azurite speaks http,
 * which the SDK refuses for connection strings unless told otherwise.
 */
export function createTableClient(connection: TablesConnection, tableName: string): TableClient {
  if (connection.kind === 'endpoint') {
    return new TableClient(connection.endpoint, tableName, new LazyDefaultAzureCredential());
  }

  const allowInsecureConnection = LOOPBACK.test(tableEndpointOf(connection.connectionString));

  return TableClient.fromConnectionString(connection.connectionString, tableName, {
    allowInsecureConnection,
  });
}

export function createTableServiceClient(connection: TablesConnection): TableServiceClient {
  if (connection.kind === 'endpoint') {
    return new TableServiceClient(connection.endpoint, new LazyDefaultAzureCredential());
  }

  const allowInsecureConnection = LOOPBACK.test(tableEndpointOf(connection.connectionString));

  return TableServiceClient.fromConnectionString(connection.connectionString, {
    allowInsecureConnection,
  });
}

/** The table endpoint a connection string names, as the SDK reads it; '' when none. */
export function tableEndpointOf(connectionString: string): string {
  if (/UseDevelopmentStorage=true/i.test(connectionString)) {
    return 'http://127.0.0.1:10002/';
  }

  const match = /TableEndpoint=([^;]+)/i.exec(connectionString);

  return match?.[1] === undefined ? '' : `${match[1].replace(/\/?$/, '/')}`;
}

/**
 * DefaultAzureCredential, made on the first token request. @azure/identity (with MSAL) takes
 * tens of milliseconds to load, which every cold start paid before taking its first event;
 * the first table request is the first moment that needs it.
 */
class LazyDefaultAzureCredential implements TokenCredential {
  private credential: Promise<TokenCredential> | undefined;

  async getToken(
    scopes: string | string[],
    options?: GetTokenOptions,
  ): Promise<AccessToken | null> {
    this.credential ??= import('@azure/identity').then(
      (identity) => new identity.DefaultAzureCredential(),
    );

    return (await this.credential).getToken(scopes, options);
  }
}
