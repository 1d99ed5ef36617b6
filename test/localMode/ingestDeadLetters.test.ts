import { HttpRequest, InvocationContext } from '@azure/functions';

import { DirectAlertSink } from '../../lib/alertSink';
import { StaticAllowlist } from '../../lib/cachedAllowlist';
import { DeadLetterStore } from '../../lib/deadLetterStore';
import { DEFAULT_DELIVERY_OPTIONS } from '../../lib/deliverNotification';
import { createIngestHandler } from '../../lib/localMode/createIngestHandler';
import { createTableClient } from '../../lib/tableServiceClients';
import { testTablesConnectionString, uniqueTableName } from '../support/testTables';

function ingestRequest(body: unknown): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://127.0.0.1:7071/api/ingest',
    headers: { 'content-type': 'application/json' },
    body: { string: JSON.stringify(body) },
  });
}

describe("local mode's ingest", () => {
  it('keeps the dead letters of two requests whose broken records sit at the same place', async () => {
    const deadLetters = new DeadLetterStore(
      createTableClient(
        { kind: 'connection-string', connectionString: testTablesConnectionString() },
        uniqueTableName('ingestdead'),
      ),
    );
    const ingest = createIngestHandler({
      allowlist: new StaticAllowlist([]),
      sink: new DirectAlertSink([], DEFAULT_DELIVERY_OPTIONS),
      deadLetters,
      log: () => undefined,
    });
    const context = new InvocationContext({ invocationId: 'ingest-test' });

    const first = await ingest(ingestRequest({ records: ['{"first": ['] }), context);
    const second = await ingest(ingestRequest({ records: ['{"second": ['] }), context);
    const again = await ingest(ingestRequest({ records: ['{"second": ['] }), context);

    expect([first.status, second.status, again.status]).toEqual([200, 200, 200]);
    const letters = await deadLetters.list('record', 10);
    // The same broken record sent twice is one dead letter; different ones are two.
    expect(letters.map((letter) => letter.rawText).sort()).toEqual([
      '"{\\"first\\": ["',
      '"{\\"second\\": ["',
    ]);
  });
});
