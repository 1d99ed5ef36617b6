import {
  allResources,
  appSettingsOf,
  isJsonObject,
  objectAt,
  stringsIn,
  type ArmResource,
  type ArmTemplate,
  type JsonObject,
} from './armTemplate';

/**
 * Ways a compiled template could hand a secret to the app settings, an output or anywhere else
 * readable: reading keys (`list*()` functions), writing a key or connection string, or passing
 * a secure parameter anywhere but into a Key Vault secret. Returns one line per finding.
 */
export function findSecretExposures(root: ArmTemplate): string[] {
  return [
    ...findKeyReads(root),
    ...findKeysInAppSettings(root),
    ...findSecretsInOutputs(root),
    ...findSecureParameterFlows(root),
  ];
}

// ARM's list*() functions (listKeys, listConnectionStrings, listAccountSas, listSecrets, ...)
// return keys and connection strings; nothing in this deployment may read one.
const KEY_READ = /\blist\w*\(/i;
// Connection-string syntax, not names: the namespace's one rule is called
// RootManageSharedAccessKey, and its resource id is no secret.
const KEY_MATERIAL =
  /AccountKey=|SharedAccessKey(Name)?=|SharedAccessSignature|DefaultEndpointsProtocol=/i;
const OUTPUT_SECRET =
  /ConnectionString|InstrumentationKey|AccountKey|SharedAccessKey(Name)?=|\blist\w*\(/i;

function findKeyReads(root: ArmTemplate): string[] {
  return stringsIn(root)
    .filter(({ text }) => KEY_READ.test(text))
    .map(({ at, text }) => `reads keys at ${at}: ${text}`);
}

function findKeysInAppSettings(root: ArmTemplate): string[] {
  return allResources(root)
    .filter(({ resource }) => resource.type.toLowerCase() === 'microsoft.web/sites')
    .flatMap(({ resource }) =>
      [...appSettingsOf(resource)]
        .filter(([, value]) => KEY_MATERIAL.test(value))
        .map(([name, value]) => `app setting ${name} holds key material: ${value}`),
    );
}

function findSecretsInOutputs(root: ArmTemplate): string[] {
  return templatesIn(root).flatMap((template) =>
    Object.entries(isJsonObject(template.outputs) ? template.outputs : {}).flatMap(
      ([name, output]) =>
        stringsIn(output)
          .filter(({ text }) => OUTPUT_SECRET.test(text) || secureParametersIn(template, text))
          .map(({ text }) => `output ${name} exposes a secret: ${text}`),
    ),
  );
}

/**
 * A secure parameter may be tested for emptiness anywhere, but its value may only go into a Key
 * Vault secret's value or into the same-named secure parameter of a nested deployment.
 */
function findSecureParameterFlows(root: ArmTemplate): string[] {
  return allResources(root).flatMap(({ resource, template }) =>
    secureParameterNames(template).flatMap((parameter) =>
      stringsIn(withoutNestedTemplate(resource))
        .filter(({ text }) => usesValueOf(text, parameter))
        .filter(({ at, text }) => !isAllowedSecureFlow(resource, at, text, parameter))
        .map(({ at }) => `secure parameter ${parameter} reaches ${resource.type} at ${at}`),
    ),
  );
}

function isAllowedSecureFlow(
  resource: ArmResource,
  at: string,
  text: string,
  parameter: string,
): boolean {
  if (text !== `[parameters('${parameter}')]`) {
    return false;
  }
  const type = resource.type.toLowerCase();
  if (type === 'microsoft.keyvault/vaults/secrets') {
    return at === '$.properties.value';
  }
  if (type === 'microsoft.resources/deployments') {
    const nested = objectAt(resource, 'properties', 'template');
    const match = /^\$\.properties\.parameters\.(\w+)\.value$/.exec(at);

    return (
      nested !== undefined &&
      match !== null &&
      secureParameterNames(nested as ArmTemplate).includes(match[1] as string)
    );
  }

  return false;
}

function usesValueOf(text: string, parameter: string): boolean {
  const reference = `parameters('${parameter}')`;

  return text.replaceAll(`empty(${reference})`, '').includes(reference);
}

function secureParametersIn(template: ArmTemplate, text: string): boolean {
  return secureParameterNames(template).some((parameter) => usesValueOf(text, parameter));
}

function secureParameterNames(template: ArmTemplate): string[] {
  const parameters = isJsonObject(template.parameters) ? template.parameters : {};

  return Object.entries(parameters)
    .filter(([, declaration]) => {
      const type = isJsonObject(declaration) ? declaration.type : undefined;

      return typeof type === 'string' && type.toLowerCase().startsWith('secure');
    })
    .map(([name]) => name);
}

function templatesIn(root: ArmTemplate): ArmTemplate[] {
  const nested = allResources(root)
    .map(({ resource }) => objectAt(resource, 'properties', 'template'))
    .filter((template): template is JsonObject => template !== undefined);

  return [root, ...(nested as ArmTemplate[])];
}

/** The resource without its nested template, whose expressions use that template's parameters. */
function withoutNestedTemplate(resource: ArmResource): JsonObject {
  const properties = objectAt(resource, 'properties');
  if (properties === undefined || !('template' in properties)) {
    return resource;
  }
  const rest: JsonObject = { ...properties };
  delete rest.template;

  return { ...resource, properties: rest };
}
