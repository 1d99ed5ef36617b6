import { app } from '@azure/functions';

import { instanceRuntime } from '../lib/detectorRuntime';
import { createBatchHandler } from '../lib/eventHubBatchHandler';
import {
  AUDIT_EVENT_HUB_CONNECTION,
  checkEventHubTriggerSettings,
} from '../lib/eventHubTriggerSettings';

// Settings are read and validated here, at start-up: a wrong setting stops the app with a
// message naming it, before any event is taken off the hub and lost.
checkEventHubTriggerSettings(process.env);
const runtime = instanceRuntime();

app.eventHub('detectGuestInvitations', {
  connection: AUDIT_EVENT_HUB_CONNECTION,
  eventHubName: '%AUDIT_EVENTHUB_NAME%',
  consumerGroup: '%AUDIT_EVENTHUB_CONSUMER_GROUP%',
  cardinality: 'many',
  // The handler throws only when Table Storage failed (alerts or dead letters could not be
  // written); without a retry policy the checkpoint would move past that batch. Eight
  // retries from 5 s doubling to 5 min hold the partition about 15 minutes, enough for
  // storage's bad minutes. Not -1 (forever): one partition must not stall indefinitely, and
  // the count lives in memory, so a restart starts it over anyway. On the last retry the
  // handler sends alerts it could not store without a claim, and logs them in full.
  retry: {
    strategy: 'exponentialBackoff',
    maxRetryCount: 8,
    minimumInterval: { seconds: 5 },
    maximumInterval: { minutes: 5 },
  },
  handler: createBatchHandler({
    allowlist: runtime.allowlist,
    sink: runtime.sink,
    deadLetters: runtime.deadLetters,
  }),
});
