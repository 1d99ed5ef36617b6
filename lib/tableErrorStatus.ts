/**
 * The HTTP status of a failed Table Storage call, or undefined when there was no answer
 * (refused connection, timeout). Duck-typed: RestError may come from another realm.
 */
export function tableErrorStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;

  return typeof status === 'number' ? status : undefined;
}

/** 409: the entity exists already (an insert-if-absent lost, or the claim was made before). */
export function isAlreadyExists(error: unknown): boolean {
  return tableErrorStatus(error) === 409;
}

/** 412: the ETag no longer matches, so another worker changed the entity first. */
export function isChangedByAnother(error: unknown): boolean {
  return tableErrorStatus(error) === 412;
}

export function isNotFound(error: unknown): boolean {
  return tableErrorStatus(error) === 404;
}

/** The table itself is gone (deleted, or storage restored empty): it must be created again. */
export function isTableMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;

  return tableErrorStatus(error) === 404 && code === 'TableNotFound';
}
