import type { Alert } from '../../lib/alert';
import { OutcomeBacklog } from '../../lib/outcomeBacklog';
import type { OutboxDelivery } from '../../lib/alertOutbox';
import { startFlakyReceiver, type FlakyReceiver } from '../support/flakyReceiver';
import {
  batchContext,
  batchHandlerFor,
  detectorInstance,
  FAST_DELIVERY,
  invitationMessages,
  newDeploymentTables,
  once,
  requestsTo,
  TEAMS_PATH,
  WEBHOOK_PATH,
  unapprovedAlert,
} from '../support/reliabilityHarness';
import { testTablesConnectionString } from '../support/testTables';
import { waitFor } from '../support/waitFor';

const at = new Date('2026-11-18T10:00:00Z');

let receiver: FlakyReceiver;
beforeEach(async () => {
  receiver = await startFlakyReceiver();
});
afterEach(async () => {
  await receiver.close();
});

function alertFor(key: string): Alert {
  return unapprovedAlert(key, 800, at);
}

describe('leases on outbox deliveries', () => {
  it('delivers an alert exactly once, by the timer, when the instance that claimed it died before sending', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    let clock = at.getTime();
    const now = () => new Date(clock);
    const leaseMs = FAST_DELIVERY.leaseMs!;
    const died = detectorInstance(tables, receiver, {}, { now });
    const alert = alertFor('died-after-claim');
    // The claim is written, then the instance is gone: nothing was sent.
    await died.outbox!.claim(alert, died.settings.destinations, now(), new Date(clock + leaseMs));
    const timer = detectorInstance(tables, receiver, {}, { now });

    clock += leaseMs - 1_000;
    expect(await timer.redeliver()).toMatchObject({ due: 0 });
    // The lease ended without an outcome: one more lease length, in case its worker did send
    // and is about to record it.
    clock += 2_000;
    expect(await timer.redeliver()).toMatchObject({ due: 2, awaitingLeaseGrace: 2, taken: 0 });
    expect(receiver.messages).toHaveLength(0);
    clock += leaseMs;
    expect(await timer.redeliver()).toMatchObject({ due: 2, delivered: 2 });
    expect(await timer.redeliver()).toMatchObject({ due: 0 });

    expect(receiver.acknowledged(TEAMS_PATH)).toEqual(once([alert.auditId]));
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once([alert.auditId]));
  });

  it('does not let the timer send an alert again while a slow send outlasts the configured lease', async () => {
    const tables = newDeploymentTables(testTablesConnectionString());
    const batch = invitationMessages('slow-send', 1, at);
    receiver.setBehaviour(() => ({ kind: 'slow', delayMs: 1_500 }));
    const settings = { TEAMS_WEBHOOK_URL: '' };
    const timings = {
      ...FAST_DELIVERY,
      leaseMs: 1_000,
      delivery: { ...FAST_DELIVERY.delivery, timeoutMs: 3_000 },
    };
    const sender = detectorInstance(tables, receiver, settings, timings);
    const timer = detectorInstance(tables, receiver, settings, timings);

    const sending = batchHandlerFor(sender)(
      batch.messages,
      batchContext({ logs: [], messages: 1 }),
    );
    await waitFor(
      () => receiver.messages.length === 1,
      5_000,
      () => 'no request arrived',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const pass = await timer.redeliver();
    await sending;

    expect(pass).toMatchObject({ taken: 0, delivered: 0 });
    expect(requestsTo(receiver, WEBHOOK_PATH)).toBe(1);
    expect(receiver.acknowledged(WEBHOOK_PATH)).toEqual(once(batch.auditIds));
  });
});

describe('deliveries storage could not record', () => {
  const delivery = (alertId: string): OutboxDelivery => ({
    alertId,
    destinationKey: 'webhook-0123456789ab',
    destination: 'webhook#1',
    status: 'pending',
    attempts: 0,
    skips: 0,
    createdAt: at.toISOString(),
    pendingSince: at.toISOString(),
    nextAttemptAt: at.toISOString(),
    leasedUntil: at.toISOString(),
    lastAttemptAt: '',
    lastError: '',
    deliveredAt: '',
    etag: '*',
  });

  it('are written again on a timer of their own, with no batch or redelivery pass to do it', async () => {
    let storageUp = false;
    const written: string[] = [];
    const backlog = new OutcomeBacklog({ flushIntervalMs: 20 });
    backlog.add(delivery('a1'), (row) => {
      if (!storageUp) {
        return Promise.reject(new Error('ECONNREFUSED'));
      }
      written.push(row.alertId);

      return Promise.resolve(row);
    });

    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(backlog.size).toBe(1);
    storageUp = true;
    await waitFor(
      () => backlog.size === 0,
      2_000,
      () => 'the backlog was not flushed',
    );

    expect(written).toEqual(['a1']);
  });

  it('log an error naming the alert when one has to be dropped, never silently', () => {
    const errors: string[] = [];
    const backlog = new OutcomeBacklog({
      flushIntervalMs: 60_000,
      logError: (line) => errors.push(line),
    });
    const refused = () => Promise.reject(new Error('ECONNREFUSED'));

    for (let index = 0; index <= 10_000; index += 1) {
      backlog.add(delivery(`alert-${index}`), refused);
    }

    expect(backlog.size).toBe(10_000);
    expect(errors.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        event: 'unrecorded-delivery-dropped',
        alertId: 'alert-0',
        destination: 'webhook#1',
        waiting: 10_000,
        consequence:
          'the destination acknowledged this alert; it goes out again when its lease ends',
      },
    ]);
  });
});
