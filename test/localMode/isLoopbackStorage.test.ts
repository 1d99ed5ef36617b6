import { isLoopbackStorage } from '../../lib/localMode/isLoopbackStorage';

const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

describe('isLoopbackStorage', () => {
  it.each([
    ['development storage', 'UseDevelopmentStorage=true', true],
    [
      'Azurite on 127.0.0.1',
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;`,
      true,
    ],
    [
      'Azurite on localhost',
      `AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};TableEndpoint=http://localhost:10002/devstoreaccount1`,
      true,
    ],
    [
      'Azurite on [::1]',
      `AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};TableEndpoint=http://[::1]:10002/devstoreaccount1`,
      true,
    ],
    [
      'an account in Azure',
      `DefaultEndpointsProtocol=https;AccountName=stgidprod;AccountKey=${AZURITE_KEY};EndpointSuffix=core.windows.net`,
      false,
    ],
    [
      'an Azurite in another container',
      `AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};TableEndpoint=http://azurite:10002/devstoreaccount1`,
      false,
    ],
    [
      'a look-alike host name',
      `AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};TableEndpoint=http://127.0.0.1.nip.io:10002/devstoreaccount1`,
      false,
    ],
  ])('takes a connection string for %s as loopback: %s', (_case, connectionString, expected) => {
    expect(isLoopbackStorage({ kind: 'connection-string', connectionString })).toBe(expected);
  });

  it('takes TABLES_ENDPOINT for shared Table Storage', () => {
    expect(
      isLoopbackStorage({
        kind: 'endpoint',
        endpoint: 'https://stgidprod.table.core.windows.net/',
      }),
    ).toBe(false);
  });
});
