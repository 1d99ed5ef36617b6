import { Webhook } from 'standardwebhooks';

import type { Destination } from './destination';
import { DeliveryError } from './deliveryError';
import type { Notification } from './notification';

export interface DeliveryOptions {
  /** Time allowed for one HTTP attempt. */
  timeoutMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** First backoff; it doubles per attempt, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After that is waited out; a longer one ends the attempts for now. */
  maxRetryAfterMs: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  /**
   * Awaited before every HTTP attempt, retries included (a rate limiter's slot). Resolving
   * to false means "not now": no request is made and the attempts end there.
   */
  beforeAttempt?: () => Promise<boolean | void>;
  /**
   * Told of every throttling answer, with the wait it asked for when it gave one, cut to
   * maxRetryAfterMs: what is longer than that is waited out in the outbox, not in memory.
   */
  onThrottled?: (retryAfterMs: number | undefined) => void;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = {
  timeoutMs: 10_000,
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
};

export interface DeliveryOutcome {
  destination: string;
  delivered: boolean;
  attempts: number;
  status: number | undefined;
  error?: DeliveryError;
  /** What the destination asked to wait before the next try, when it said so. */
  retryAfterMs?: number;
  /** Set when beforeAttempt said "not now" before the first attempt: nothing was sent. */
  deferred?: boolean;
}

const USER_AGENT = 'guest-invite-detector/1';

/** Teams Workflows "When a Teams webhook request is received" takes a message with a card. */
export function teamsMessageBody(notification: Notification): unknown {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: notification.card,
      },
    ],
  };
}

export interface OutgoingRequest {
  body: string;
  headers: Record<string, string>;
}

/** The exact bytes and headers sent; generic webhooks are signed the Standard Webhooks way. */
export function buildRequest(
  destination: Destination,
  notification: Notification,
  now: Date,
): OutgoingRequest {
  const body = JSON.stringify(
    destination.kind === 'teams' ? teamsMessageBody(notification) : notification.json,
  );
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': USER_AGENT,
  };
  if (destination.kind === 'webhook') {
    const timestamp = new Date(Math.floor(now.getTime() / 1000) * 1000);
    headers['webhook-id'] = notification.id;
    headers['webhook-timestamp'] = String(timestamp.getTime() / 1000);
    if (destination.signingSecret !== undefined) {
      headers['webhook-signature'] = new Webhook(destination.signingSecret).sign(
        notification.id,
        timestamp,
        body,
      );
    }
  }

  return { body, headers };
}

/**
 * Posts one notification to one destination: a timeout per attempt, retries with
 * exponential backoff on network errors, timeouts, 408, 429 and 5xx, honouring Retry-After.
 * Redirects are not followed (a webhook must not be bounced elsewhere). Never throws.
 */
export async function deliverNotification(
  destination: Destination,
  notification: Notification,
  options: DeliveryOptions = DEFAULT_DELIVERY_OPTIONS,
): Promise<DeliveryOutcome> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? (() => new Date());
  let lastStatus: number | undefined;
  let lastProblem = 'no attempt was made';

  for (let attempt = 1; attempt <= options.maxAttempts; attempt += 1) {
    if ((await options.beforeAttempt?.()) === false) {
      // Told "not now" (a rate limiter's wait would outlast the caller's lease): a retry
      // ends with the failure before it; a first attempt ends with nothing sent.
      return attempt === 1
        ? {
            destination: destination.label,
            delivered: false,
            attempts: 0,
            status: undefined,
            deferred: true,
          }
        : failure(destination, attempt - 1, lastStatus, lastProblem);
    }
    // Signed afresh per attempt so the timestamp stays inside receivers' tolerance.
    const request = buildRequest(destination, notification, now());
    let retryAfterMs: number | undefined;
    try {
      const response = await doFetch(destination.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      lastStatus = response.status;
      const responseText = await readSmallBody(response);
      const throttled = response.status === 429 || isTeamsThrottleBody(destination, responseText);
      if (response.status >= 200 && response.status < 300 && !throttled) {
        return {
          destination: destination.label,
          delivered: true,
          attempts: attempt,
          status: response.status,
        };
      }

      lastProblem = throttled
        ? 'throttled (429)'
        : `the destination answered HTTP ${response.status}`;
      if (!throttled && !isRetryableStatus(response.status)) {
        return failure(destination, attempt, lastStatus, lastProblem);
      }
      retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
      if (throttled) {
        options.onThrottled?.(
          retryAfterMs === undefined ? undefined : Math.min(retryAfterMs, options.maxRetryAfterMs),
        );
      }
    } catch (error) {
      lastStatus = undefined;
      lastProblem = describeNetworkError(error, options.timeoutMs);
    }

    const tooLong = retryAfterMs !== undefined && retryAfterMs > options.maxRetryAfterMs;
    if (attempt === options.maxAttempts || tooLong) {
      // A wait longer than this call may sleep is said, so the outbox row shows why it waits.
      const problem =
        tooLong && retryAfterMs !== undefined
          ? `${lastProblem}; it asked to wait ${Math.ceil(retryAfterMs / 1000)} s`
          : lastProblem;

      return {
        ...failure(destination, attempt, lastStatus, problem),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    }
    await sleep(retryAfterMs ?? backoffDelay(attempt, options));
  }

  return failure(destination, options.maxAttempts, lastStatus, lastProblem);
}

function failure(
  destination: Destination,
  attempts: number,
  status: number | undefined,
  problem: string,
): DeliveryOutcome {
  return {
    destination: destination.label,
    delivered: false,
    attempts,
    status,
    error: new DeliveryError(destination.label, attempts, status, problem),
  };
}

/**
 * The longest one deliverNotification call can take: every attempt timing out, with the
 * longest wait between attempts. A worker's lease on an outbox delivery must outlast it.
 */
export function longestDeliveryMs(options: DeliveryOptions): number {
  const longestWait = Math.max(options.maxDelayMs, options.maxRetryAfterMs);

  return options.maxAttempts * options.timeoutMs + (options.maxAttempts - 1) * longestWait;
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Teams has answered throttling with a success status whose body reports the 429
 * ("Microsoft Teams endpoint returned HTTP error 429 ..."); that is not a delivery.
 */
export function isTeamsThrottleBody(destination: Destination, body: string): boolean {
  return (
    destination.kind === 'teams' && /\b429\b/.test(body) && /error|throttl|too many/i.test(body)
  );
}

/**
 * Longest Retry-After read as such: a week, the longest ALERT_MAX_AGE_HOURS allows. A longer
 * value (or a 400-digit one, which Number reads as Infinity) means the same thing here.
 */
export const MAX_RETRY_AFTER_READ_MS = 7 * 24 * 3_600_000;

/**
 * Retry-After as delay-seconds or an HTTP date, in milliseconds from 0 to
 * MAX_RETRY_AFTER_READ_MS; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null || value.trim() === '') {
    return undefined;
  }

  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    // Ten digits of seconds is already beyond the cap; longer strings need not be read.
    const seconds = trimmed.length > 10 ? Number.POSITIVE_INFINITY : Number(trimmed);

    return Math.min(seconds * 1000, MAX_RETRY_AFTER_READ_MS);
  }

  const at = Date.parse(trimmed);

  return Number.isNaN(at)
    ? undefined
    : Math.min(Math.max(0, at - now.getTime()), MAX_RETRY_AFTER_READ_MS);
}

export function backoffDelay(attempt: number, options: DeliveryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));

  // Full jitter in the upper half keeps retries from many instances apart.
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

async function readSmallBody(response: Response): Promise<string> {
  try {
    const text = await response.text();

    return text.slice(0, 2048);
  } catch {
    // The status is what matters; an unreadable body is not a reason to retry.
    return '';
  }
}

/**
 * Says what went wrong from the error's name and code only: fetch's own messages can carry
 * the URL. Duck-typed, because errors from fetch may come from another realm (test runners).
 */
function describeNetworkError(error: unknown, timeoutMs: number): string {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return `no answer within ${timeoutMs} ms`;
  }

  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;

  return code === undefined ? 'a network error' : `a network error (${code})`;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
