import { isJsonObject } from './jsonFields';

/** One element of the input and where it was, for messages about it. */
export interface LocatedElement {
  readonly where: string;
  readonly element: unknown;
  /** Which document of the input (an Event Hubs message, a line) held it, where numbered. */
  readonly documentIndex?: number;
}

/**
 * The records inside one parsed JSON document: an Event Hubs message `{"records":[...]}`, a
 * Graph list response `{"value":[...]}`, an array of records (or of such envelopes), or one
 * record on its own. `documentIndex` is handed on to each element, for callers that need to
 * find the document again.
 */
export function* elementsOf(
  document: unknown,
  where: string,
  documentIndex?: number,
): Generator<LocatedElement> {
  const inner = envelopeItems(document);
  if (inner !== undefined) {
    for (let index = 0; index < inner.length; index += 1) {
      yield { where: `${where}, record ${index}`, element: inner[index], documentIndex };
    }

    return;
  }

  if (Array.isArray(document)) {
    for (let index = 0; index < document.length; index += 1) {
      const item: unknown = document[index];
      const nested = envelopeItems(item);
      if (nested === undefined) {
        yield { where: `${where}, item ${index}`, element: item, documentIndex };
        continue;
      }
      for (let inner = 0; inner < nested.length; inner += 1) {
        yield {
          where: `${where}, item ${index}, record ${inner}`,
          element: nested[inner],
          documentIndex,
        };
      }
    }

    return;
  }

  yield { where, element: document, documentIndex };
}

function envelopeItems(document: unknown): unknown[] | undefined {
  if (!isJsonObject(document)) {
    return undefined;
  }
  if (Array.isArray(document.records) && !Object.hasOwn(document, 'properties')) {
    return document.records as unknown[];
  }
  if (Array.isArray(document.value) && !Object.hasOwn(document, 'activityDisplayName')) {
    return document.value as unknown[];
  }

  return undefined;
}

/** Marks an element that could not even be parsed; the detector reports it as unreadable. */
export class UnparsableElement {
  constructor(readonly reason: string) {}
}

/**
 * An Event Hubs message as the Functions host hands it over: with JSON bodies usually the
 * parsed object, but a string or bytes can arrive too. Never throws.
 */
export function decodeEventBody(body: unknown): unknown {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else if (body instanceof Uint8Array) {
    text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  } else {
    return body;
  }

  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return new UnparsableElement(
      `the message is not JSON (${error instanceof Error ? error.message : 'parse error'})`,
    );
  }
}
