import type { HttpRequest, InvocationContext } from '@azure/functions';

import type { AllowlistEntry } from '../allowlistEntry';
import type {
  ConditionalWrite,
  EntryAuthorship,
  EntryState,
  TableAllowlistStore,
} from '../tableAllowlistStore';
import type { AllowlistAction, AllowlistChange } from './allowlistChange';
import type { AllowlistChangeNotifier, ChangeNoticeOutcome } from './allowlistChangeNotifier';
import { ApiProblem } from './apiProblem';
import { emptyResponse, jsonResponse, problemResponse, type ApiResponse } from './apiResponse';
import { authorizeCaller, type Access, type Caller } from './authorizeCaller';
import { clientAddressOf } from './clientAddress';
import { easyAuthMisconfiguration, type CallerTrust } from './easyAuthMisconfiguration';
import { entryTerms, toEntryResource } from './entryResource';
import { inviterFromRequest } from './inviterFromRequest';
import { isStorageUnavailable } from './isStorageUnavailable';
import { nextLinkFor, readPageRequest } from './pageRequest';
import { parseEntryTerms } from './parseEntryTerms';
import { readJsonBody } from './readJsonBody';
import { readPreconditions, type Preconditions } from './readPreconditions';
import { newAuditRecordId, type TableAllowlistAuditLog } from './tableAllowlistAuditLog';
import { writeAuditRecord } from './writeAuditRecord';

/** Where the API keeps the allowlist and its history. */
export interface InvitersStorage {
  allowlist: TableAllowlistStore;
  auditLog: TableAllowlistAuditLog;
  /** Creates the tables if they are missing; runs before the first storage call. */
  ensureTables(): Promise<void>;
}

export interface InvitersApiDependencies extends CallerTrust {
  /** Undefined when no storage is configured: every request then gets a 503. */
  storage: InvitersStorage | undefined;
  notifier: AllowlistChangeNotifier;
  /** The app settings, for the App Service Authentication check. */
  env: Record<string, string | undefined>;
  now?: () => Date;
  /** Runs after each change; local mode drops the in-process detector's cached allowlist. */
  onChange?: (change: AllowlistChange) => void;
}

export type InvitersHandler = (
  request: HttpRequest,
  context: InvocationContext,
) => Promise<ApiResponse>;

/** One handler per operation; docs/openapi.json names them as operationIds. */
export interface InvitersApi {
  listInviters: InvitersHandler;
  getInviter: InvitersHandler;
  putInviter: InvitersHandler;
  deleteInviter: InvitersHandler;
  getInviterHistory: InvitersHandler;
}

type Operation = (
  request: HttpRequest,
  context: InvocationContext,
  caller: Caller,
  storage: InvitersStorage,
) => Promise<ApiResponse>;

const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_HISTORY_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
/** Unconditional writes re-read and retry when another writer got in between. */
const WRITE_ATTEMPTS = 3;

/**
 * The admin API over the allowlist. Every handler checks, in this order, that callers can be
 * identified here (App Service Authentication on, or local development), the caller's app
 * role, and the request; writes are conditional on Table Storage ETags, recorded in the audit
 * table and announced. Handlers never throw: every failure is an RFC 9457 problem answer.
 */
export function createInvitersApi(dependencies: InvitersApiDependencies): InvitersApi {
  const now = dependencies.now ?? (() => new Date());

  const guarded =
    (access: Access, operation: Operation): InvitersHandler =>
    async (request, context) => {
      try {
        const misconfiguration = easyAuthMisconfiguration(dependencies.env, dependencies);
        if (misconfiguration !== undefined) {
          context.error(
            `Admin API refused ${request.method} ${pathOf(request)}: ${misconfiguration}. ` +
              'Enable App Service Authentication (Entra ID) on the function app; outside App ' +
              'Service the admin API serves only local development (func start, or the serve ' +
              'command).',
          );
          throw new ApiProblem(
            'authentication-not-configured',
            'This deployment cannot identify its callers, so it serves nobody. An administrator ' +
              'must enable App Service Authentication with Entra ID on the function app.',
          );
        }

        const caller = authorizeCaller(request.headers, access);
        if (dependencies.storage === undefined) {
          context.error(
            'Admin API has no allowlist storage: set TABLES_ENDPOINT (in Azure) or ' +
              'TABLES_CONNECTION_STRING (Azurite).',
          );
          throw new ApiProblem(
            'storage-not-configured',
            'The allowlist storage is not configured for this deployment; an administrator ' +
              'must set TABLES_ENDPOINT.',
          );
        }

        return await operation(request, context, caller, dependencies.storage);
      } catch (error) {
        return errorResponse(error, request, context);
      }
    };

  /**
   * Records, announces and applies a change that is made by now. The notice and the cache
   * refresh happen whatever the audit write does; when the record cannot be written even so,
   * the answer is a 503 saying the change stands, and the error log keeps the whole record.
   */
  const recordChange = async (
    change: AllowlistChange,
    storage: InvitersStorage,
    context: InvocationContext,
  ): Promise<void> => {
    // The record owes the notice to every destination until the announcement says otherwise,
    // so a notice lost with this instance is still sent by the redelivery timer.
    const owed = dependencies.notifier.destinationKeys();
    const audit = await writeAuditRecord(storage.auditLog, change, owed);
    if (audit.written && audit.earlierFailures.length > 0) {
      context.warn(
        `Audit record ${change.id} written on attempt ${audit.attempts} after: ` +
          audit.earlierFailures.map(describeError).join('; '),
      );
    }
    if (!audit.written) {
      context.error(
        `Audit record NOT written for the ${change.action} of allowlist entry ${change.inviter} ` +
          `after ${audit.attempts} attempts (${describeError(audit.error)}); the change WAS ` +
          `applied. The record, in full: ${JSON.stringify(change)}`,
      );
    }

    let notice: ChangeNoticeOutcome;
    try {
      notice = await dependencies.notifier.announce(change);
    } catch (error) {
      notice = { undelivered: owed, failures: [describeError(error)] };
    }
    const failures = notice.failures;
    for (const failure of failures) {
      context.error(`Allowlist change notice ${change.id} not delivered: ${failure}`);
    }
    if (audit.written && owed.length > 0) {
      await recordNoticeState(storage, change, audit.etag, notice, context);
    }

    dependencies.onChange?.(change);
    context.log(
      JSON.stringify({
        event: 'allowlist-change',
        action: change.action,
        inviter: change.inviter,
        changedBy: change.changedBy,
        clientIp: change.clientIp,
        auditRecord: change.id,
        auditWritten: audit.written,
        invocationId: change.invocationId,
        noticeFailures: failures.length,
      }),
    );

    if (!audit.written) {
      throw auditUnavailable(change, audit.attempts, failures.length, context.invocationId);
    }
  };

  /** A notice whose state cannot be recorded is sent again later: a duplicate, not a loss. */
  const recordNoticeState = async (
    storage: InvitersStorage,
    change: AllowlistChange,
    etag: string | undefined,
    notice: ChangeNoticeOutcome,
    context: InvocationContext,
  ): Promise<void> => {
    const retried = 'the redelivery timer sends it again to every destination';
    if (etag === undefined) {
      context.warn(`Notice state of audit record ${change.id} not recorded (no ETag); ${retried}`);

      return;
    }

    try {
      await storage.auditLog.recordNoticeState(change, etag, {
        pending: notice.undelivered,
        attempts: 1,
        lastError: notice.failures.join('; '),
      });
    } catch (error) {
      context.warn(
        `Notice state of audit record ${change.id} not recorded (${describeError(error)}); ` +
          retried,
      );
    }
  };

  const describeChange = (
    action: AllowlistAction,
    inviter: string,
    before: AllowlistEntry | null,
    after: AllowlistEntry | null,
    caller: Caller,
    request: HttpRequest,
    context: InvocationContext,
    at: Date,
  ): AllowlistChange => ({
    id: newAuditRecordId(at),
    inviter,
    action,
    before,
    after,
    changedBy: caller.label,
    changedByObjectId: caller.objectId ?? null,
    changedByAppId: caller.appId ?? null,
    changedAt: at.toISOString(),
    clientIp: clientAddressOf(request.headers) ?? null,
    invocationId: context.invocationId,
  });

  return {
    listInviters: guarded('read', async (request, context, _caller, storage) => {
      const page = readPageRequest(request, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);

      await storage.ensureTables();
      const listing = await storage.allowlist.listPage(page.top, page.continuationToken);
      for (const problem of listing.problems) {
        context.warn(`Invalid allowlist entity (it approves nothing): ${problem}`);
      }

      return jsonResponse(200, {
        value: listing.entries.map(toEntryResource),
        ...(listing.continuationToken === undefined
          ? {}
          : { nextLink: nextLinkFor(request, page.top, listing.continuationToken) }),
        ...(listing.problems.length === 0 ? {} : { problems: listing.problems }),
      });
    }),

    getInviter: guarded('read', async (request, _context, _caller, storage) => {
      const inviter = inviterFromRequest(request);

      await storage.ensureTables();
      const state = await storage.allowlist.getEntryState(inviter);

      switch (state.kind) {
        case 'missing':
          throw notFound(inviter);
        case 'invalid':
          throw invalidStoredEntry(state.problem);
        case 'valid':
          return jsonResponse(200, toEntryResource(state.entry), { etag: state.entry.etag });
      }
    }),

    putInviter: guarded('write', async (request, context, caller, storage) => {
      const inviter = inviterFromRequest(request);
      const preconditions = readPreconditions(request.headers, 'PUT');
      const terms = parseEntryTerms(await readJsonBody(request), now());
      const entry: AllowlistEntry = { inviter, ...terms };

      await storage.ensureTables();
      for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt += 1) {
        const state = await storage.allowlist.getEntryState(inviter);
        checkPutPreconditions(state, preconditions, inviter);

        const at = now();
        const previous = state.kind === 'valid' ? state.entry : undefined;
        const authorship: EntryAuthorship = {
          createdBy: previous === undefined ? caller.label : previous.createdBy,
          createdAt: previous === undefined ? at.toISOString() : previous.createdAt,
          updatedBy: caller.label,
          updatedAt: at.toISOString(),
        };
        const written: ConditionalWrite =
          state.kind === 'missing'
            ? await storage.allowlist.createEntry(entry, authorship)
            : await storage.allowlist.replaceEntry(
                entry,
                authorship,
                specificEtag(preconditions) ?? etagOf(state),
              );

        if (written.outcome === 'written') {
          const created = state.kind === 'missing';
          const change = describeChange(
            created ? 'create' : 'update',
            inviter,
            previous === undefined ? null : entryTerms(previous),
            entryTerms(entry),
            caller,
            request,
            context,
            at,
          );
          await recordChange(change, storage, context);

          return jsonResponse(
            created ? 201 : 200,
            toEntryResource({ ...entry, ...authorship, etag: written.etag }),
            { etag: written.etag, ...(created ? { location: pathOf(request) } : {}) },
          );
        }
        if (
          preconditions.ifNoneMatchAny ||
          specificEtag(preconditions) !== undefined ||
          (preconditions.ifMatch === '*' && written.outcome === 'not-found')
        ) {
          throw changedMeanwhile(inviter);
        }
        // Unconditional (or If-Match: *) and someone else wrote in between: read again.
      }

      throw concurrentChange(inviter);
    }),

    deleteInviter: guarded('write', async (request, context, caller, storage) => {
      const inviter = inviterFromRequest(request);
      const preconditions = readPreconditions(request.headers, 'DELETE');
      const expected = specificEtag(preconditions);

      await storage.ensureTables();
      for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt += 1) {
        const state = await storage.allowlist.getEntryState(inviter);
        if (state.kind === 'missing') {
          throw preconditions.ifMatch === undefined ? notFound(inviter) : noEntryToMatch(inviter);
        }
        if (expected !== undefined && expected !== etagOf(state)) {
          throw changedMeanwhile(inviter);
        }

        const at = now();
        const deleted = await storage.allowlist.deleteEntryIfMatch(
          inviter,
          expected ?? etagOf(state),
        );
        if (deleted.outcome === 'deleted') {
          const before = state.kind === 'valid' ? entryTerms(state.entry) : null;
          await recordChange(
            describeChange('delete', inviter, before, null, caller, request, context, at),
            storage,
            context,
          );

          return emptyResponse(204);
        }
        if (expected !== undefined) {
          throw changedMeanwhile(inviter);
        }
        // Changed or deleted by someone else in between: read again and decide anew.
      }

      throw concurrentChange(inviter);
    }),

    getInviterHistory: guarded('read', async (request, context, _caller, storage) => {
      const inviter = inviterFromRequest(request);
      const page = readPageRequest(request, DEFAULT_HISTORY_PAGE_SIZE, MAX_PAGE_SIZE);

      await storage.ensureTables();
      const history = await storage.auditLog.listPage(inviter, page.top, page.continuationToken);
      for (const problem of history.problems) {
        context.warn(`Unreadable audit record skipped: ${problem}`);
      }

      return jsonResponse(200, {
        value: history.changes,
        ...(history.continuationToken === undefined
          ? {}
          : { nextLink: nextLinkFor(request, page.top, history.continuationToken) }),
      });
    }),
  };
}

/** RFC 9110: If-None-Match: * fails when an entry exists, If-Match when none does or it differs. */
function checkPutPreconditions(
  state: EntryState,
  preconditions: Preconditions,
  inviter: string,
): void {
  if (preconditions.ifNoneMatchAny && state.kind !== 'missing') {
    throw new ApiProblem(
      'precondition-failed',
      `An entry for ${inviter} already exists and If-None-Match: * asked to create only. ` +
        'To replace it, GET it and send its ETag in If-Match.',
    );
  }
  if (preconditions.ifMatch !== undefined && state.kind === 'missing') {
    throw noEntryToMatch(inviter);
  }

  const expected = specificEtag(preconditions);
  if (expected !== undefined && state.kind !== 'missing' && expected !== etagOf(state)) {
    throw changedMeanwhile(inviter);
  }
}

function specificEtag(preconditions: Preconditions): string | undefined {
  return preconditions.ifMatch === '*' ? undefined : preconditions.ifMatch;
}

function etagOf(state: Exclude<EntryState, { kind: 'missing' }>): string {
  return state.kind === 'valid' ? state.entry.etag : state.etag;
}

function notFound(inviter: string): ApiProblem {
  return new ApiProblem(
    'not-found',
    `There is no allowlist entry for ${inviter}. Create one with PUT on this URL.`,
  );
}

function noEntryToMatch(inviter: string): ApiProblem {
  return new ApiProblem(
    'precondition-failed',
    `There is no allowlist entry for ${inviter}, so If-Match cannot match. ` +
      'Leave If-Match out (or send If-None-Match: *) to create it.',
  );
}

function changedMeanwhile(inviter: string): ApiProblem {
  return new ApiProblem(
    'precondition-failed',
    `The allowlist entry for ${inviter} is no longer the version your If-Match names: ` +
      'someone changed it. GET it again, review the change, and retry with its new ETag.',
  );
}

function concurrentChange(inviter: string): ApiProblem {
  return new ApiProblem(
    'concurrent-change',
    `The allowlist entry for ${inviter} changed ${WRITE_ATTEMPTS} times while this request ` +
      'ran. Nothing was changed by this request; try again.',
  );
}

function auditUnavailable(
  change: AllowlistChange,
  attempts: number,
  noticeFailures: number,
  invocationId: string,
): ApiProblem {
  const notice =
    noticeFailures === 0
      ? 'its change notice was still sent'
      : `its change notice was still sent, though ${noticeFailures} destination(s) did not take it`;

  return new ApiProblem(
    'audit-unavailable',
    `The ${change.action} of the allowlist entry for ${change.inviter} WAS applied and ` +
      `${notice}, but its audit record could not be written (${attempts} tries): the audit ` +
      "table's storage did not take it. The whole record is in the app's error log under " +
      `invocation id ${invocationId}. Nothing needs repeating: GET the entry to see it. Check ` +
      'the audit table (ALLOWLIST_AUDIT_TABLE) and its storage, and retry further changes ' +
      'later, once it works again.',
    { headers: { 'retry-after': '30' } },
  );
}

function invalidStoredEntry(problem: string): ApiProblem {
  return new ApiProblem(
    'invalid-stored-entry',
    'The stored entry is not valid, so it approves nothing. Replace it with PUT or remove it ' +
      'with DELETE.',
    { errors: [problem] },
  );
}

function errorResponse(
  error: unknown,
  request: HttpRequest,
  context: InvocationContext,
): ApiResponse {
  if (error instanceof ApiProblem) {
    return problemResponse(error, context.invocationId);
  }
  if (isStorageUnavailable(error)) {
    context.error(
      `Admin API ${request.method} ${pathOf(request)}: allowlist storage unavailable ` +
        `(${describeError(error)})`,
    );

    return problemResponse(
      new ApiProblem(
        'storage-unavailable',
        'The allowlist storage cannot be reached right now; try again shortly. After a failed ' +
          'change, GET the entry first: a write that timed out may still have been applied.',
        { headers: { 'retry-after': '30' }, cause: error },
      ),
      context.invocationId,
    );
  }

  context.error(
    `Admin API ${request.method} ${pathOf(request)} failed unexpectedly: ${describeError(error)}`,
    error,
  );

  return problemResponse(
    new ApiProblem(
      'internal-error',
      `An unexpected error occurred. Give the operators invocation id ${context.invocationId} ` +
        'to find what happened.',
      { cause: error },
    ),
    context.invocationId,
  );
}

/** The path only: the query may carry the function key (`code`). */
function pathOf(request: HttpRequest): string {
  try {
    return new URL(request.url).pathname;
  } catch {
    // Only outside the host can a request lack a URL; the method still says what it was.
    return '(no URL)';
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }

  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  const status = typeof statusCode === 'number' ? ` (HTTP ${statusCode})` : '';
  const errorCode = typeof code === 'string' ? ` [${code}]` : '';

  return `${error.name}${status}${errorCode}: ${error.message}`;
}
