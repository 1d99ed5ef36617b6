import type { ServerResponse } from 'node:http';

import type { ApiResponse } from '../adminApi/apiResponse';

export function writeApiResponse(response: ServerResponse, answer: ApiResponse): void {
  const body = answer.body === undefined ? undefined : Buffer.from(answer.body, 'utf8');
  response.writeHead(answer.status, {
    ...answer.headers,
    ...(body === undefined ? {} : { 'content-length': String(body.length) }),
  });
  response.end(body);
}
