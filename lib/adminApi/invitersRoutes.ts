import type { HttpMethod } from '@azure/functions';

import { ApiProblem } from './apiProblem';
import { problemResponse } from './apiResponse';
import type { InvitersApi, InvitersHandler } from './createInvitersApi';

export interface InvitersRoute {
  /** The function name in Azure. */
  name: string;
  /** Relative to the host's routePrefix (`api`). */
  route: string;
  operations: Partial<Record<HttpMethod, keyof InvitersApi>>;
}

/**
 * Every route and method the admin API serves. The function registrations, local mode and
 * the OpenAPI test all read this one table, so they cannot drift apart.
 */
export const INVITERS_ROUTES: readonly InvitersRoute[] = [
  { name: 'inviters', route: 'inviters', operations: { GET: 'listInviters' } },
  {
    name: 'inviter',
    route: 'inviters/{inviter}',
    operations: { GET: 'getInviter', PUT: 'putInviter', DELETE: 'deleteInviter' },
  },
  {
    name: 'inviterHistory',
    route: 'inviters/{inviter}/history',
    operations: { GET: 'getInviterHistory' },
  },
];

export function methodsOf(route: InvitersRoute): HttpMethod[] {
  return Object.keys(route.operations) as HttpMethod[];
}

export interface RouteMatch {
  route: InvitersRoute;
  /** Route parameters, percent-decoded once as the Functions host hands them over. */
  params: Record<string, string>;
}

/**
 * The route a path names, as the host's router finds it. `path` is the raw URL path after
 * the route prefix, e.g. `inviters/guest_partner.example%23EXT%23%40contoso.onmicrosoft.com`.
 */
export function matchInvitersRoute(path: string): RouteMatch | undefined {
  const segments = path.replace(/^\/+|\/+$/g, '').split('/');
  for (const route of INVITERS_ROUTES) {
    const template = route.route.split('/');
    if (template.length !== segments.length) {
      continue;
    }

    const params: Record<string, string> = {};
    const matches = template.every((part, index) => {
      const segment = segments[index] ?? '';
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined) {
        return part === segment;
      }
      params[name] = decodeSegment(segment);

      return segment !== '';
    });
    if (matches) {
      return { route, params };
    }
  }

  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Like the host, a malformed escape is passed on as it is; the handler then refuses it.
    return segment;
  }
}

/** One handler for a route: picks the operation by method, 405 for any other method. */
export function routeHandler(api: InvitersApi, route: InvitersRoute): InvitersHandler {
  return (request, context) => {
    const operation = route.operations[request.method.toUpperCase() as HttpMethod];
    if (operation === undefined) {
      const allowed = methodsOf(route).join(', ');

      return Promise.resolve(
        problemResponse(
          new ApiProblem(
            'method-not-allowed',
            `${request.method} is not served here; this path serves ${allowed}.`,
            { headers: { allow: allowed } },
          ),
          context.invocationId,
        ),
      );
    }

    return api[operation](request, context);
  };
}
