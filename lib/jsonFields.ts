/**
 * Defensive readers for parsed JSON. Audit records come from outside, so every read checks
 * the type it gets, and only own properties count (a record without `constructor` must not
 * yield Object's constructor, and a `__proto__` key is just data).
 */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value of the first of `names` that the object has. Real data varies in casing
 * (`type`/`Type`, `additionalDetails` keys), so when no exact name is present the keys are
 * compared without regard to case.
 */
export function field(object: JsonObject, ...names: string[]): unknown {
  for (const name of names) {
    if (Object.hasOwn(object, name)) {
      return object[name];
    }
  }

  const wanted = names.map((name) => name.toLowerCase());
  for (const key of Object.keys(object)) {
    if (wanted.includes(key.toLowerCase())) {
      return object[key];
    }
  }

  return undefined;
}

/** A non-empty string, or undefined for anything else (null, numbers, `""`, `"<null>"`). */
export function text(value: unknown): string | undefined {
  if (typeof value !== 'string') {
    return undefined;
  }

  const trimmed = value.trim();
  // Entra writes the literal "<null>" into some IP and caller fields.
  if (trimmed === '' || trimmed === '<null>') {
    return undefined;
  }

  return value;
}

export function objectOrUndefined(value: unknown): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

/**
 * Log Analytics exports keep dynamic columns (`InitiatedBy`, `TargetResources`,
 * `AdditionalDetails`) as JSON text; other shapes have them as JSON already.
 */
export function dynamicColumn(value: unknown): unknown {
  if (typeof value !== 'string') {
    return value;
  }

  const trimmed = value.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) {
    return undefined;
  }

  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    // A broken dynamic column reads as absent; the rest of the record is still used.
    return undefined;
  }
}
