import type { HttpRequest } from '@azure/functions';

import { ApiProblem } from './apiProblem';

/** An allowlist entry is well under 1 KB; 16 KB leaves room and refuses anything silly. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * The request body as parsed JSON: only `application/json` (UTF-8), at most `maxBytes`.
 * Throws ApiProblem 415, 413 or 400 saying what to send instead.
 */
export async function readJsonBody(
  request: HttpRequest,
  maxBytes: number = MAX_BODY_BYTES,
): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? '';
  const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim());
  const charset = parameters
    .map((parameter) => /^charset\s*=\s*"?([^"]*)"?$/i.exec(parameter)?.[1])
    .find((value) => value !== undefined);
  if (mediaType.toLowerCase() !== 'application/json') {
    throw new ApiProblem(
      'unsupported-media-type',
      contentType === ''
        ? 'The request has no Content-Type. Send the entry as JSON with Content-Type: application/json.'
        : 'The body must be sent with Content-Type: application/json.',
    );
  }
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new ApiProblem(
      'unsupported-media-type',
      'JSON bodies must be UTF-8; drop the charset parameter or set it to utf-8.',
    );
  }

  const tooLarge = new ApiProblem(
    'body-too-large',
    `The body is larger than ${maxBytes} bytes. An allowlist entry is far smaller; ` +
      'check that only {expiresAt, allowedDomains, note} is sent.',
  );
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw tooLarge;
  }

  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) {
    throw tooLarge;
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (error) {
    throw new ApiProblem('malformed-body', 'The body is not valid UTF-8 text.', { cause: error });
  }
  if (text.trim() === '') {
    throw new ApiProblem(
      'malformed-body',
      'The body is empty. Send a JSON object, e.g. {"allowedDomains": ["partner.example"]}, ' +
        'or {} for an entry without limits.',
    );
  }

  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // The parser's message quotes the input back; the caller has that already.
    throw new ApiProblem(
      'malformed-body',
      'The body is not valid JSON. Check quotes, commas and brackets.',
      { cause: error },
    );
  }
}
