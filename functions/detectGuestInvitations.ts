import { app } from '@azure/functions';

import { createDetectorRuntime } from '../lib/detectorRuntime';
import { createBatchHandler } from '../lib/eventHubBatchHandler';

// Settings are read and validated here, at start-up: a wrong setting stops the app with a
// message naming it, before any event is taken off the hub and lost.
const runtime = createDetectorRuntime(process.env);

app.eventHub('detectGuestInvitations', {
  connection: 'AuditEventHub',
  eventHubName: '%AUDIT_EVENTHUB_NAME%',
  consumerGroup: '%AUDIT_EVENTHUB_CONSUMER_GROUP%',
  cardinality: 'many',
  retry: {
    strategy: 'exponentialBackoff',
    maxRetryCount: 8,
    minimumInterval: { seconds: 5 },
    maximumInterval: { minutes: 5 },
  },
  handler: createBatchHandler({ allowlist: runtime.allowlist, sink: runtime.sink }),
});
