import type { AllowlistEntry } from '../allowlistEntry';
import { AdminApiRequestError } from './adminApiRequestError';
import { CLIENT_PRINCIPAL_HEADER } from './readClientPrincipal';
import type { EntryTerms } from './parseEntryTerms';

export interface InvitersApiClientOptions {
  /** The app's base URL, e.g. http://127.0.0.1:7071 or https://func-x.azurewebsites.net. */
  baseUrl: string;
  /** Sent as x-ms-client-principal: only local mode reads it from a client. */
  principal?: string;
  /** The function key (Azure), sent as x-functions-key so it never lands in a URL. */
  functionKey?: string;
  /** An Entra access token for the API (Azure, behind App Service Authentication). */
  bearerToken?: string;
  fetch?: typeof fetch;
}

/** A problem the API answered with, as the client reports it. */
export interface AnsweredProblem {
  status: number;
  title: string;
  detail: string;
  errors: string[];
}

export interface AllowlistListing {
  entries: AllowlistEntry[];
  /** The API's line for each stored entity it could not list as an entry. */
  problems: string[];
}

export type PutOutcome =
  { ok: true; status: number; entry: AllowlistEntry } | { ok: false; problem: AnsweredProblem };

/** Statuses that concern one entry; anything else concerns every request and is thrown. */
const PER_ENTRY_STATUSES = new Set([400, 404, 409, 412, 413, 415]);
const MAX_PAGES = 10_000;

/** A small client of the admin API, for the allowlist export and import commands. */
export class InvitersApiClient {
  private readonly base: URL;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: InvitersApiClientOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.doFetch = options.fetch ?? fetch;
  }

  /**
   * Every entry, following nextLink page by page, and every stored entity the API listed under
   * `problems` instead (edited outside the API into something invalid), one line each.
   */
  async listAll(): Promise<AllowlistListing> {
    const listing: AllowlistListing = { entries: [], problems: [] };
    let next: URL | undefined = new URL('api/inviters?top=1000', this.base);
    for (let page = 0; next !== undefined && page < MAX_PAGES; page += 1) {
      const body = (await this.send('GET', next)).body as {
        value?: AllowlistEntry[];
        nextLink?: string;
        problems?: unknown[];
      };
      listing.entries.push(...(body.value ?? []));
      listing.problems.push(
        ...(body.problems ?? []).filter((problem) => typeof problem === 'string'),
      );
      next = body.nextLink === undefined ? undefined : this.sameOrigin(new URL(body.nextLink));
    }

    return listing;
  }

  /** Creates or replaces one entry; a refusal of this entry is returned, not thrown. */
  async put(inviter: string, terms: EntryTerms): Promise<PutOutcome> {
    const url = new URL(`api/inviters/${encodeURIComponent(inviter)}`, this.base);
    const answer = await this.send('PUT', url, terms);
    if (answer.status >= 200 && answer.status < 300) {
      return { ok: true, status: answer.status, entry: answer.body as AllowlistEntry };
    }

    return { ok: false, problem: readProblem(answer.status, answer.body) };
  }

  private async send(
    method: string,
    url: URL,
    json?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.principal !== undefined) {
      headers[CLIENT_PRINCIPAL_HEADER] = this.options.principal;
    }
    if (this.options.functionKey !== undefined) {
      headers['x-functions-key'] = this.options.functionKey;
    }
    if (this.options.bearerToken !== undefined) {
      headers.authorization = `Bearer ${this.options.bearerToken}`;
    }
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
    }

    let response: Response;
    try {
      response = await this.doFetch(url, {
        method,
        headers,
        redirect: 'manual',
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      throw new AdminApiRequestError(
        method,
        url,
        undefined,
        `no answer${typeof code === 'string' ? ` (${code})` : ''}; is the app running at ${url.origin}?`,
        { cause: error },
      );
    }

    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      // Not JSON (a gateway's HTML page): the status says enough.
      body = undefined;
    }
    const ok = response.status >= 200 && response.status < 300;
    if (!ok && !(method === 'PUT' && PER_ENTRY_STATUSES.has(response.status))) {
      const problem = readProblem(response.status, body);
      throw new AdminApiRequestError(method, url, response.status, describeProblem(problem));
    }

    return { status: response.status, body };
  }

  /** Credentials go only to the app they were given for, whatever a nextLink says. */
  private sameOrigin(url: URL): URL {
    if (url.origin !== this.base.origin) {
      throw new AdminApiRequestError(
        'GET',
        url,
        undefined,
        `the API's nextLink points to another origin than ${this.base.origin}; not following it`,
      );
    }

    return url;
  }
}

function readProblem(status: number, body: unknown): AnsweredProblem {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');

  return {
    status,
    title: text(problem.title),
    detail: text(problem.detail),
    errors: Array.isArray(problem.errors) ? problem.errors.map(text).filter((e) => e !== '') : [],
  };
}

/** The title, then the specific errors when there are any, else the detail. */
export function describeProblem(problem: AnsweredProblem): string {
  const specifics = problem.errors.length > 0 ? problem.errors.join('; ') : problem.detail;
  const title = problem.title === '' ? `HTTP ${problem.status}` : problem.title;

  return specifics === '' ? title : `${title}: ${specifics}`;
}
