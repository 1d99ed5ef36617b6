import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Reading compiled ARM templates (the committed output of `bicep build`) without Azure.
 * Resources may sit in nested deployments (`properties.template`) and, in templates with
 * languageVersion 2.0, in an object keyed by symbolic name instead of an array. Values computed
 * at deployment time are ARM expressions such as "[format('{0}', parameters('x'))]"; the
 * helpers here read their text, they do not evaluate them.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface ArmResource extends JsonObject {
  type: string;
  name: string;
}

export interface ArmTemplate extends JsonObject {
  resources: ArmResource[] | Record<string, ArmResource>;
}

/** One resource with the template it was declared in, which its expressions refer to. */
export interface LocatedResource {
  resource: ArmResource;
  template: ArmTemplate;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export function loadTemplate(relativePath: string): ArmTemplate {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, relativePath), 'utf8')) as ArmTemplate;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every resource of the template and of the templates nested in its deployments. */
export function allResources(template: ArmTemplate): LocatedResource[] {
  const own = Array.isArray(template.resources)
    ? template.resources
    : Object.values(template.resources);

  return own.flatMap((resource) => {
    const nested = objectAt(resource, 'properties', 'template');

    return [
      { resource, template },
      ...(nested === undefined ? [] : allResources(nested as ArmTemplate)),
    ];
  });
}

/** Resources of one type, compared without regard to case as ARM does. */
export function resourcesOfType(template: ArmTemplate, type: string): LocatedResource[] {
  return allResources(template).filter(
    ({ resource }) => resource.type.toLowerCase() === type.toLowerCase(),
  );
}

/** The single resource of a type; fails the test if there are none or several. */
export function onlyResourceOfType(template: ArmTemplate, type: string): LocatedResource {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${type}, found ${found.length}`);
  }

  return found[0] as LocatedResource;
}

/** Outputs of the template and of every nested template, with the name they are declared by. */
export function allOutputs(template: ArmTemplate): { name: string; output: JsonObject }[] {
  const own = isJsonObject(template.outputs) ? Object.entries(template.outputs) : [];
  const nested = allResources(template)
    .map(({ resource }) => objectAt(resource, 'properties', 'template'))
    .filter((inner): inner is JsonObject => inner !== undefined);

  return [
    ...own.map(([name, output]) => ({ name, output: output as JsonObject })),
    ...nested.flatMap((inner) =>
      isJsonObject(inner.outputs)
        ? Object.entries(inner.outputs).map(([name, output]) => ({
            name,
            output: output as JsonObject,
          }))
        : [],
    ),
  ];
}

/** The object at a property path, or undefined when any step is missing or not an object. */
export function objectAt(value: JsonValue, ...keys: string[]): JsonObject | undefined {
  const found = valueAt(value, ...keys);

  return isJsonObject(found) ? found : undefined;
}

/** The string at a property path; fails the test when it is missing or not a string. */
export function textAt(value: JsonValue, ...keys: string[]): string {
  const found = valueAt(value, ...keys);
  if (typeof found !== 'string') {
    throw new Error(`expected a string at ${keys.join('.')}, found ${JSON.stringify(found)}`);
  }

  return found;
}

export function valueAt(value: JsonValue, ...keys: string[]): JsonValue | undefined {
  let current: JsonValue | undefined = value;
  for (const key of keys) {
    current = isJsonObject(current) ? current[key] : undefined;
  }

  return current;
}

/** Every string in a JSON value, property names included, with the path that leads to it. */
export function stringsIn(value: JsonValue, at = '$'): { at: string; text: string }[] {
  if (typeof value === 'string') {
    return [{ at, text: value }];
  }
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => stringsIn(item, `${at}[${index}]`));
  }
  if (isJsonObject(value)) {
    return Object.entries(value).flatMap(([key, item]) => [
      { at: `${at}.${key}`, text: key },
      ...stringsIn(item, `${at}.${key}`),
    ]);
  }

  return [];
}

/**
 * The app settings a site declares, name to value (a literal, or the text of the ARM expression
 * that computes it). Bicep compiles a computed settings array into one expression of
 * createObject('name', 'X', 'value', <expression>) calls; a literal array is read directly.
 */
export function appSettingsOf(site: ArmResource): Map<string, string> {
  const declared = valueAt(site, 'properties', 'siteConfig', 'appSettings');
  const settings = new Map<string, string>();
  if (Array.isArray(declared)) {
    for (const entry of declared) {
      const name = valueAt(entry, 'name');
      const value = valueAt(entry, 'value');
      if (typeof name === 'string') {
        settings.set(name, typeof value === 'string' ? value : JSON.stringify(value));
      }
    }

    return settings;
  }
  if (typeof declared !== 'string') {
    return settings;
  }

  const entry = /createObject\('name', '([^']+)', 'value', /g;
  for (const match of declared.matchAll(entry)) {
    const name = match[1] as string;
    settings.set(name, expressionArgumentAt(declared, match.index + match[0].length));
  }

  return settings;
}

/**
 * The text of one function argument in an ARM expression, starting at `start` and ending
 * before the comma or closing parenthesis that ends it at the same nesting depth. Quoted
 * strings (with '' as an escaped quote) are skipped over.
 */
export function expressionArgumentAt(expression: string, start: number): string {
  let depth = 0;
  let index = start;
  while (index < expression.length) {
    const character = expression[index];
    if (character === "'") {
      index = endOfQuotedString(expression, index);
      continue;
    }
    if (character === '(' || character === '[') {
      depth += 1;
    } else if (character === ')' || character === ']') {
      if (depth === 0) {
        break;
      }
      depth -= 1;
    } else if (character === ',' && depth === 0) {
      break;
    }
    index += 1;
  }

  return expression.slice(start, index).trim();
}

function endOfQuotedString(expression: string, openingQuote: number): number {
  let index = openingQuote + 1;
  while (index < expression.length) {
    if (expression[index] === "'") {
      if (expression[index + 1] === "'") {
        index += 2;
        continue;
      }

      return index + 1;
    }
    index += 1;
  }

  return index;
}

/**
 * A role definition GUID from a roleDefinitionId expression: either written in it, or read from
 * a template variable such as variables('roles').storageBlobDataOwner.
 */
export function roleIdOf(roleDefinitionId: string, template: ArmTemplate): string | undefined {
  const literal = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(
    roleDefinitionId,
  );
  if (literal !== null) {
    return literal[0].toLowerCase();
  }

  const variable = /variables\('([^']+)'\)\.(\w+)/.exec(roleDefinitionId);
  if (variable === null) {
    return undefined;
  }
  const value = valueAt(template, 'variables', variable[1] as string, variable[2] as string);

  return typeof value === 'string' ? value.toLowerCase() : undefined;
}

/** The resource type a scope expression points at, e.g. 'Microsoft.KeyVault/vaults'. */
export function scopeTypeOf(scope: JsonValue | undefined): string {
  if (scope === undefined) {
    return 'the deployment scope';
  }
  if (typeof scope !== 'string') {
    return JSON.stringify(scope);
  }
  const match = /resourceId\('([^']+)'/.exec(scope);

  return match === null ? scope : (match[1] as string);
}
