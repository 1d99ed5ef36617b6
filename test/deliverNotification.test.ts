import { Webhook } from 'standardwebhooks';

import { ConfigurationError } from '../lib/configurationError';
import {
  deliverNotification,
  MAX_RETRY_AFTER_READ_MS,
  parseRetryAfter,
  type DeliveryOptions,
} from '../lib/deliverNotification';
import { parseDestinations, type Destination } from '../lib/destination';
import type { Notification } from '../lib/notification';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhookReceiver';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const notification: Notification = {
  id: 'alert-0001',
  json: { ruleId: 'r', auditId: 'a', reason: 'not-approved' },
  card: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'hello' }] },
};

let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const sleeps: number[] = [];
const fastOptions: DeliveryOptions = {
  timeoutMs: 300,
  maxAttempts: 4,
  baseDelayMs: 10,
  maxDelayMs: 40,
  maxRetryAfterMs: 5_000,
  sleep: async (ms) => {
    sleeps.push(ms);
    await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20)));
  },
};
beforeEach(() => {
  sleeps.length = 0;
});

function webhook(url: string, secret?: string): Destination {
  const [destination] = parseDestinations('ALERT_WEBHOOK_URL', url, 'webhook', secret);

  return destination!;
}

describe('delivering a notification', () => {
  it('posts the alert JSON to a generic webhook, signed the Standard Webhooks way', async () => {
    receiver = await startWebhookReceiver();

    const outcome = await deliverNotification(
      webhook(receiver.url, SECRET),
      notification,
      fastOptions,
    );

    expect(outcome).toMatchObject({ delivered: true, attempts: 1, status: 202 });
    const [request] = receiver.requests;
    expect(JSON.parse(request!.body)).toEqual(notification.json);
    expect(request!.headers['webhook-id']).toBe('alert-0001');
    expect(
      new Webhook(SECRET).verify(request!.body, request!.headers as Record<string, string>),
    ).toEqual(notification.json);
  });

  it('sends no signature when no secret is configured', async () => {
    receiver = await startWebhookReceiver();

    await deliverNotification(webhook(receiver.url), notification, fastOptions);

    expect(receiver.requests[0]!.headers['webhook-signature']).toBeUndefined();
    expect(receiver.requests[0]!.headers['webhook-id']).toBe('alert-0001');
  });

  it('posts a Teams message with the card', async () => {
    receiver = await startWebhookReceiver();
    const [teams] = parseDestinations('TEAMS_WEBHOOK_URL', receiver.url, 'teams');

    await deliverNotification(teams!, notification, fastOptions);

    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({
      type: 'message',
      attachments: [{ content: notification.card }],
    });
  });

  it('retries 5xx answers with backoff and succeeds when the receiver recovers', async () => {
    receiver = await startWebhookReceiver((_request, count, response) => {
      response.writeHead(count < 3 ? 503 : 200).end();
    });

    const outcome = await deliverNotification(webhook(receiver.url), notification, fastOptions);

    expect(outcome).toMatchObject({ delivered: true, attempts: 3, status: 200 });
    expect(receiver.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('waits as long as Retry-After says after a 429', async () => {
    receiver = await startWebhookReceiver((_request, count, response) => {
      if (count === 1) {
        response.writeHead(429, { 'retry-after': '2' }).end();
      } else {
        response.writeHead(202).end();
      }
    });

    const outcome = await deliverNotification(webhook(receiver.url), notification, fastOptions);

    expect(outcome.delivered).toBe(true);
    expect(sleeps).toEqual([2000]);
  });

  it('tells the rate limiter of a throttle with the wait cut to maxRetryAfterMs, and waits out none of a longer one', async () => {
    receiver = await startWebhookReceiver((_request, _count, response) => {
      response.writeHead(429, { 'retry-after': '600' }).end();
    });
    const told: (number | undefined)[] = [];

    const outcome = await deliverNotification(webhook(receiver.url), notification, {
      ...fastOptions,
      onThrottled: (retryAfterMs) => told.push(retryAfterMs),
    });

    expect(told).toEqual([5_000]);
    expect(sleeps).toEqual([]);
    expect(outcome).toMatchObject({ delivered: false, attempts: 1, retryAfterMs: 600_000 });
    expect(outcome.error?.message).toBe(
      'Delivery to webhook#1 failed after 1 attempt(s): throttled (429); it asked to wait 600 s',
    );
  });

  it('reports the Retry-After of the last attempt too', async () => {
    receiver = await startWebhookReceiver((_request, _count, response) => {
      response.writeHead(429, { 'retry-after': '2' }).end();
    });

    const outcome = await deliverNotification(webhook(receiver.url), notification, {
      ...fastOptions,
      maxAttempts: 2,
    });

    expect(outcome).toMatchObject({ delivered: false, attempts: 2, retryAfterMs: 2_000 });
  });

  it('sends nothing when told "not now" before the first attempt, and ends a retry with the failure before it', async () => {
    receiver = await startWebhookReceiver((_request, _count, response) => {
      response.writeHead(503).end();
    });
    let allowed = 0;

    const notNow = await deliverNotification(webhook(receiver.url), notification, {
      ...fastOptions,
      beforeAttempt: () => Promise.resolve(false),
    });
    const onceOnly = await deliverNotification(webhook(receiver.url), notification, {
      ...fastOptions,
      beforeAttempt: () => Promise.resolve((allowed += 1) === 1),
    });

    expect(notNow).toEqual({
      destination: 'webhook#1',
      delivered: false,
      attempts: 0,
      status: undefined,
      deferred: true,
    });
    expect(onceOnly).toMatchObject({ delivered: false, attempts: 1, status: 503 });
    expect(onceOnly.deferred).toBeUndefined();
    expect(receiver.requests).toHaveLength(1);
  });

  it('treats a Teams success whose body reports a 429 as throttled', async () => {
    receiver = await startWebhookReceiver((_request, count, response) => {
      response
        .writeHead(200)
        .end(
          count === 1 ? 'Microsoft Teams endpoint returned HTTP error 429 with ContextId x' : '1',
        );
    });
    const [teams] = parseDestinations('TEAMS_WEBHOOK_URL', receiver.url, 'teams');

    const outcome = await deliverNotification(teams!, notification, fastOptions);

    expect(outcome).toMatchObject({ delivered: true, attempts: 2 });
  });

  it('does not retry a 400, and its error names the destination but not the URL', async () => {
    receiver = await startWebhookReceiver((_request, _count, response) => {
      response.writeHead(400).end();
    });

    const outcome = await deliverNotification(webhook(receiver.url), notification, fastOptions);

    expect(outcome).toMatchObject({ delivered: false, attempts: 1, status: 400 });
    expect(outcome.error?.message).toBe(
      'Delivery to webhook#1 failed after 1 attempt(s): the destination answered HTTP 400',
    );
    expect(JSON.stringify(outcome)).not.toContain('secret-signature-value');
    expect(JSON.stringify(outcome)).not.toContain('127.0.0.1');
  });

  it('gives up on a receiver that hangs, after the timeout of each attempt', async () => {
    receiver = await startWebhookReceiver(() => {
      // Never answers.
    });

    const outcome = await deliverNotification(webhook(receiver.url), notification, {
      ...fastOptions,
      maxAttempts: 2,
    });

    expect(outcome).toMatchObject({ delivered: false, attempts: 2, status: undefined });
    expect(outcome.error?.message).toBe(
      'Delivery to webhook#1 failed after 2 attempt(s): no answer within 300 ms',
    );
  });

  it('reports a refused connection without the address', async () => {
    receiver = await startWebhookReceiver();
    const url = receiver.url;
    await receiver.close();
    receiver = undefined;

    const outcome = await deliverNotification(webhook(url), notification, {
      ...fastOptions,
      maxAttempts: 2,
    });

    expect(outcome.error?.message).toBe(
      'Delivery to webhook#1 failed after 2 attempt(s): a network error (ECONNREFUSED)',
    );
  });
});

describe('destinations', () => {
  it('accepts several https URLs and http only for localhost', () => {
    const destinations = parseDestinations(
      'TEAMS_WEBHOOK_URL',
      'https://a.example/x, https://b.example/y http://localhost:9000/z',
      'teams',
    );

    expect(destinations.map((destination) => destination.label)).toEqual([
      'teams#1',
      'teams#2',
      'teams#3',
    ]);
  });

  it.each([
    [
      'http://hooks.example/x?sig=s3cret',
      'Setting ALERT_WEBHOOK_URL must be an https URL (plain http is accepted only for localhost).',
    ],
    ['not a url s3cret', 'Setting ALERT_WEBHOOK_URL is not a valid absolute URL (URL 1 of 4).'],
    [
      'https://user:s3cret@hooks.example/',
      'Setting ALERT_WEBHOOK_URL must not carry a user name or password.',
    ],
  ])('refuses %p with a message that does not repeat it', (value, message) => {
    const attempt = () => parseDestinations('ALERT_WEBHOOK_URL', value, 'webhook');

    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(message);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = new Date('2026-11-18T10:00:00Z');

    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 18 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it.each([
    ['a 400-digit number', '9'.repeat(400)],
    ['eleven digits', '99999999999'],
    ['a date in year 9999', 'Fri, 31 Dec 9999 23:59:59 GMT'],
  ])('reads Retry-After as %s as a week at most, never Infinity', (_name, value) => {
    const waitMs = parseRetryAfter(value, new Date('2026-11-18T10:00:00Z'));

    expect(waitMs).toBe(MAX_RETRY_AFTER_READ_MS);
    expect(new Date(Date.now() + waitMs!).toISOString()).toEqual(expect.any(String));
  });
});
