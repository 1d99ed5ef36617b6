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
 * Graph list response `{"value":[...]}`, a Log Analytics query response `{"tables":[...]}`,
 * an array of records (or of the first two envelopes), or one record on its own.
 * `documentIndex` is handed on to each element, for callers that need to find the document
 * again.
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

  // Checked after the envelopes: Event Hubs messages, most of the input, pay nothing for it.
  const tables = queryTables(document);
  if (tables !== undefined) {
    yield* rowsOfTables(tables, where, documentIndex);

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

function queryTables(document: unknown): unknown[] | undefined {
  return isJsonObject(document) && Array.isArray(document.tables) ? document.tables : undefined;
}

/**
 * The rows of a Log Analytics query API response (`{"tables": [{"name": "PrimaryResult",
 * "columns": [{"name", "type"}], "rows": [[...]]}]}`), each made an object keyed by column
 * name, as other AuditLogs exports give a row. Dynamic columns stay JSON text, as there.
 */
function* rowsOfTables(
  tables: unknown[],
  where: string,
  documentIndex: number | undefined,
): Generator<LocatedElement> {
  for (let tableIndex = 0; tableIndex < tables.length; tableIndex += 1) {
    const table: unknown = tables[tableIndex];
    const at = `${where}, table ${tableIndex}`;
    const names = isJsonObject(table) ? columnNames(table.columns) : undefined;
    const rows = isJsonObject(table) ? table.rows : undefined;
    if (names === undefined || !Array.isArray(rows)) {
      yield {
        where: at,
        element: new UnparsableElement(
          'a query result table needs "columns", each with a "name", and "rows", each an array',
        ),
        documentIndex,
      };
      continue;
    }

    for (let rowIndex = 0; rowIndex < rows.length; rowIndex += 1) {
      yield {
        where: `${at}, row ${rowIndex}`,
        element: rowObject(names, rows[rowIndex]),
        documentIndex,
      };
    }
  }
}

function columnNames(columns: unknown): string[] | undefined {
  if (!Array.isArray(columns)) {
    return undefined;
  }

  const names: string[] = [];
  for (const column of columns) {
    if (!isJsonObject(column) || typeof column.name !== 'string') {
      return undefined;
    }
    names.push(column.name);
  }

  return names;
}

function rowObject(names: string[], row: unknown): unknown {
  if (!Array.isArray(row)) {
    return new UnparsableElement(`the row is not an array of ${names.length} values`);
  }
  if (row.length !== names.length) {
    return new UnparsableElement(
      `the row has ${row.length} values but the table has ${names.length} columns`,
    );
  }

  // fromEntries defines own properties, so a column named "__proto__" stays a column.
  return Object.fromEntries(names.map((name, index) => [name, row[index]]));
}

/**
 * Marks an element that could not be read at all (not JSON, a malformed query result row);
 * the detector reports it as unreadable.
 */
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
