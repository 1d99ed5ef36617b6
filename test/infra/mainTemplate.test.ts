import {
  allOutputs,
  allResources,
  appSettingsOf,
  expressionArgumentAt,
  loadTemplate,
  objectAt,
  onlyResourceOfType,
  resourcesOfType,
  roleIdOf,
  scopeTypeOf,
  textAt,
  valueAt,
  type ArmTemplate,
  type JsonObject,
} from './armTemplate';
import { findSecretExposures } from './secretExposure';

// The committed output of `bicep build infra/main.bicep`; scripts/check-infra.sh keeps it current.
const template = loadTemplate('infra/main.json');

function resourceOf(type: string) {
  return onlyResourceOfType(template, type).resource;
}

function propertiesOf(type: string): JsonObject {
  const properties = objectAt(resourceOf(type), 'properties');
  if (properties === undefined) {
    throw new Error(`${type} has no properties`);
  }

  return properties;
}

/** A deep copy to plant a regression in, proving a check can fail. */
function mutated(change: (copy: ArmTemplate) => void): ArmTemplate {
  const copy = structuredClone(template);
  change(copy);

  return copy;
}

function siteIn(copy: ArmTemplate): JsonObject {
  return onlyResourceOfType(copy, 'Microsoft.Web/sites').resource;
}

const ROLE = {
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
};

describe('infra/main.json', () => {
  it('targets the subscription and deploys the resources into a resource group it creates', () => {
    expect(template.$schema).toContain('subscriptionDeploymentTemplate.json');
    expect(resourceOf('Microsoft.Resources/resourceGroups').name).toContain('rg-');

    const module = resourceOf('Microsoft.Resources/deployments');
    expect(module.resourceGroup).toEqual(
      expect.stringContaining("parameters('resourceGroupName')"),
    );
    expect(valueAt(module, 'properties', 'expressionEvaluationOptions', 'scope')).toBe('inner');
  });

  it('requires the admin API client id in both templates, with no default', () => {
    const declarations = allResources(template)
      .map(({ resource }) => objectAt(resource, 'properties', 'template', 'parameters'))
      .concat(objectAt(template, 'parameters'))
      .map((parameters) => parameters?.adminApiClientId)
      .filter((declaration) => declaration !== undefined);

    expect(declarations).toHaveLength(2);
    for (const declaration of declarations) {
      expect(declaration).toMatchObject({ type: 'string', minLength: 1 });
      expect(declaration).not.toHaveProperty('defaultValue');
    }
  });

  it('declares the webhook values as secure parameters that default to empty', () => {
    for (const parameters of [
      objectAt(template, 'parameters'),
      objectAt(
        resourceOf('Microsoft.Resources/deployments'),
        'properties',
        'template',
        'parameters',
      ),
    ]) {
      for (const name of ['teamsWebhookUrl', 'alertWebhookUrl', 'alertWebhookSecret']) {
        expect(parameters?.[name]).toMatchObject({ type: 'securestring', defaultValue: '' });
      }
    }
  });

  describe('secrets', () => {
    it('never reads keys, writes key material or lets a secure parameter reach a setting or output', () => {
      expect(findSecretExposures(template)).toEqual([]);
    });

    it.each<[string, (copy: ArmTemplate) => void]>([
      [
        'a listKeys() call in an app setting',
        (copy) => {
          const settings = valueAt(siteIn(copy), 'properties', 'siteConfig') as JsonObject;
          settings.appSettings = [
            { name: 'Storage', value: "[listKeys(resourceId('x', 'y'), '2023-05-01').keys[0]]" },
          ];
        },
      ],
      [
        'an AccountKey= connection string in an app setting',
        (copy) => {
          const settings = valueAt(siteIn(copy), 'properties', 'siteConfig') as JsonObject;
          settings.appSettings = [{ name: 'Storage', value: 'AccountName=a;AccountKey=abc' }];
        },
      ],
      [
        'a secure parameter as a plain app setting',
        (copy) => {
          const settings = valueAt(siteIn(copy), 'properties', 'siteConfig') as JsonObject;
          settings.appSettings = [
            { name: 'TEAMS_WEBHOOK_URL', value: "[parameters('teamsWebhookUrl')]" },
          ];
        },
      ],
      [
        'a connection string output',
        (copy) => {
          (copy.outputs as JsonObject).LEAK = {
            type: 'string',
            value: "[reference('appInsights').ConnectionString]",
          };
        },
      ],
      [
        'a SharedAccessKey output',
        (copy) => {
          (copy.outputs as JsonObject).LEAK = { type: 'string', value: 'SharedAccessKey=abc' };
        },
      ],
    ])('reports %s', (_label, plant) => {
      expect(findSecretExposures(mutated(plant))).not.toEqual([]);
    });

    it('creates each webhook secret only when its value is given', () => {
      const secrets = resourcesOfType(template, 'Microsoft.KeyVault/vaults/secrets').map(
        ({ resource }) => ({
          condition: resource.condition,
          value: valueAt(resource, 'properties', 'value'),
        }),
      );

      expect(secrets).toEqual([
        {
          condition: "[not(empty(parameters('teamsWebhookUrl')))]",
          value: "[parameters('teamsWebhookUrl')]",
        },
        {
          condition: "[not(empty(parameters('alertWebhookUrl')))]",
          value: "[parameters('alertWebhookUrl')]",
        },
        {
          condition: "[not(empty(parameters('alertWebhookSecret')))]",
          value: "[parameters('alertWebhookSecret')]",
        },
      ]);
    });
  });

  describe('app settings', () => {
    const site = resourceOf('Microsoft.Web/sites');
    const settings = appSettingsOf(site);

    it('are exactly the settings the app reads', () => {
      expect([...settings.keys()].sort()).toEqual(
        [
          'ALERT_OUTBOX_TABLE',
          'ALERT_WEBHOOK_SECRET',
          'ALERT_WEBHOOK_URL',
          'ALLOWLIST_AUDIT_TABLE',
          'ALLOWLIST_CACHE_TTL_SECONDS',
          'ALLOWLIST_TABLE',
          'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
          'APPLICATIONINSIGHTS_CONNECTION_STRING',
          'AUDIT_EVENTHUB_CONSUMER_GROUP',
          'AUDIT_EVENTHUB_NAME',
          'AZURE_CLIENT_ID',
          'AuditEventHub__clientId',
          'AuditEventHub__credential',
          'AuditEventHub__fullyQualifiedNamespace',
          'AzureWebJobsStorage__accountName',
          'AzureWebJobsStorage__clientId',
          'AzureWebJobsStorage__credential',
          'DEAD_LETTER_TABLE',
          'TABLES_ENDPOINT',
          'TEAMS_WEBHOOK_URL',
        ].sort(),
      );
    });

    it('connect to storage and Event Hubs with the user-assigned identity', () => {
      const identityClientId =
        /reference\(.*Microsoft\.ManagedIdentity\/userAssignedIdentities.*\)\.clientId$/;

      expect(settings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
      expect(settings.get('AuditEventHub__credential')).toBe("'managedidentity'");
      expect(settings.get('AzureWebJobsStorage__clientId')).toMatch(identityClientId);
      expect(settings.get('AuditEventHub__clientId')).toMatch(identityClientId);
      expect(settings.get('AZURE_CLIENT_ID')).toMatch(identityClientId);
      expect(settings.get('AuditEventHub__fullyQualifiedNamespace')).toContain(
        '.serviceBusEndpoint',
      );
      expect(settings.get('TABLES_ENDPOINT')).toMatch(/\.primaryEndpoints\.table$/);
      expect(settings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toMatch(
        /^format\('ClientId=\{0\};Authorization=AAD', reference\(.*userAssignedIdentities.*\)\.clientId\)$/,
      );
    });

    it('name the four tables the deployment creates', () => {
      const tableNames = valueAt(
        resourceOf('Microsoft.Resources/deployments'),
        'properties',
        'template',
        'variables',
        'tableNames',
      ) as JsonObject;

      expect(Object.values(tableNames).sort()).toEqual(
        ['AlertOutbox', 'AllowlistAudit', 'ApprovedInviters', 'DeadLetters'].sort(),
      );
      expect(settings.get('ALLOWLIST_TABLE')).toBe("variables('tableNames').allowlist");
      expect(settings.get('ALLOWLIST_AUDIT_TABLE')).toBe("variables('tableNames').allowlistAudit");
      expect(settings.get('ALERT_OUTBOX_TABLE')).toBe("variables('tableNames').alertOutbox");
      expect(settings.get('DEAD_LETTER_TABLE')).toBe("variables('tableNames').deadLetters");

      const tables = onlyResourceOfType(
        template,
        'Microsoft.Storage/storageAccounts/tableServices/tables',
      ).resource;
      expect(valueAt(tables, 'copy', 'count')).toBe("[length(items(variables('tableNames')))]");
    });

    it.each([
      ['TEAMS_WEBHOOK_URL', 'teamsWebhookUrl', 'teams-webhook-url'],
      ['ALERT_WEBHOOK_URL', 'alertWebhookUrl', 'alert-webhook-url'],
      ['ALERT_WEBHOOK_SECRET', 'alertWebhookSecret', 'alert-webhook-secret'],
    ])('set %s only as a Key Vault reference, and only when given', (name, parameter, secret) => {
      const value = settings.get(name) ?? '';
      const appSettings = valueAt(site, 'properties', 'siteConfig', 'appSettings') as string;

      expect(value.startsWith("format('@Microsoft.KeyVault(SecretUri={0}{1})'")).toBe(true);
      expect(value).toContain('Microsoft.KeyVault/vaults');
      expect(value).toContain('.vaultUri');
      expect(value).not.toContain('parameters(');
      expect(appSettings).toContain(
        `if(empty(parameters('${parameter}')), createArray(), createArray(createObject('name', '${name}'`,
      );
      const secretNames = valueAt(
        resourceOf('Microsoft.Resources/deployments'),
        'properties',
        'template',
        'variables',
        'secretNames',
      ) as JsonObject;
      expect(secretNames[parameter]).toBe(secret);
    });

    it('reads an argument that itself holds commas and parentheses', () => {
      const expression = "createObject('name', 'A', 'value', format('{0},{1}', f(x, 'a)b')))";

      expect(expressionArgumentAt(expression, expression.indexOf('format'))).toBe(
        "format('{0},{1}', f(x, 'a)b'))",
      );
    });
  });

  describe('role assignments', () => {
    const assignments = resourcesOfType(template, 'Microsoft.Authorization/roleAssignments');

    it('grant the app identity exactly these roles at these scopes', () => {
      const granted = assignments
        .map(({ resource, template: declaredIn }) => ({
          role: roleIdOf(textAt(resource, 'properties', 'roleDefinitionId'), declaredIn),
          scope: scopeTypeOf(resource.scope),
        }))
        .sort((a, b) => `${a.role}${a.scope}`.localeCompare(`${b.role}${b.scope}`));

      const expected = [
        { role: ROLE.eventHubsDataReceiver, scope: 'Microsoft.EventHub/namespaces/eventhubs' },
        { role: ROLE.storageBlobDataOwner, scope: 'Microsoft.Storage/storageAccounts' },
        { role: ROLE.storageTableDataContributor, scope: 'Microsoft.Storage/storageAccounts' },
        { role: ROLE.keyVaultSecretsUser, scope: 'Microsoft.KeyVault/vaults' },
        { role: ROLE.monitoringMetricsPublisher, scope: 'Microsoft.Insights/components' },
      ].sort((a, b) => `${a.role}${a.scope}`.localeCompare(`${b.role}${b.scope}`));
      expect(granted).toEqual(expected);
    });

    it('go to the user-assigned identity as a service principal, named guid(scope, identity, role)', () => {
      for (const { resource } of assignments) {
        const scope = textAt(resource, 'scope').slice(1, -1);

        expect(valueAt(resource, 'properties', 'principalType')).toBe('ServicePrincipal');
        expect(valueAt(resource, 'properties', 'principalId')).toMatch(
          /^\[reference\(.*Microsoft\.ManagedIdentity\/userAssignedIdentities.*\)\.principalId\]$/,
        );
        expect(
          resource.name.startsWith(`[guid(${scope}, resourceId('Microsoft.ManagedIdentity`),
        ).toBe(true);
      }
    });

    it('exist before the function app starts', () => {
      const dependsOn = valueAt(resourceOf('Microsoft.Web/sites'), 'dependsOn') as string[];

      expect(
        dependsOn.filter((dependency) =>
          dependency.includes('Microsoft.Authorization/roleAssignments'),
        ),
      ).toHaveLength(assignments.length);
    });

    it('never grant queue access the app does not use', () => {
      const roleIds = assignments.map(({ resource, template: declaredIn }) =>
        roleIdOf(textAt(resource, 'properties', 'roleDefinitionId'), declaredIn),
      );

      expect(roleIds).not.toContain('974c5e8b-45b9-4653-ba55-5f855dd0fb88');
    });
  });

  describe('transport and access settings', () => {
    it('storage: no shared keys, no public blobs, https only, TLS 1.2', () => {
      expect(propertiesOf('Microsoft.Storage/storageAccounts')).toMatchObject({
        allowSharedKeyAccess: false,
        allowBlobPublicAccess: false,
        supportsHttpsTrafficOnly: true,
        minimumTlsVersion: 'TLS1_2',
        defaultToOAuthAuthentication: true,
      });
      expect(
        propertiesOf('Microsoft.Storage/storageAccounts/blobServices/containers').publicAccess,
      ).toBe('None');
    });

    it('Event Hubs: TLS 1.2, and local auth kept only for the Entra diagnostic setting', () => {
      expect(propertiesOf('Microsoft.EventHub/namespaces')).toMatchObject({
        minimumTlsVersion: '1.2',
        disableLocalAuth: false,
      });
    });

    it('Event Hubs: one namespace-level rule with Manage, Send and Listen, and no other', () => {
      // Azure makes RootManageSharedAccessKey on every namespace: declaring another name would
      // leave two rules.
      const rules = allResources(template).filter(({ resource }) =>
        resource.type.toLowerCase().endsWith('/authorizationrules'),
      );

      expect(rules.map(({ resource }) => resource.type)).toEqual([
        'Microsoft.EventHub/namespaces/authorizationRules',
      ]);
      expect(String(rules[0]?.resource.name)).toMatch(
        /'RootManageSharedAccessKey'\)\]$|\/RootManageSharedAccessKey$/,
      );
      expect(
        [...(valueAt(rules[0]?.resource ?? {}, 'properties', 'rights') as string[])].sort(),
      ).toEqual(['Listen', 'Manage', 'Send']);
    });

    it('Event Hubs: the hub takes partition count and retention from parameters', () => {
      expect(propertiesOf('Microsoft.EventHub/namespaces/eventhubs')).toEqual({
        partitionCount: "[parameters('auditEventHubPartitionCount')]",
        messageRetentionInDays: "[parameters('auditEventHubRetentionDays')]",
      });
      expect(
        resourcesOfType(template, 'Microsoft.EventHub/namespaces/eventhubs/consumergroups'),
      ).toHaveLength(1);
    });

    it('function app: https only, TLS 1.2, FTP off, basic publishing credentials off', () => {
      const properties = propertiesOf('Microsoft.Web/sites');

      expect(properties.httpsOnly).toBe(true);
      expect(properties.siteConfig).toMatchObject({ minTlsVersion: '1.2', ftpsState: 'Disabled' });
      expect(
        resourcesOfType(template, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies')
          .map(({ resource }) => ({
            policy: resource.name.match(/'(ftp|scm)'\)\]$/)?.[1],
            allow: valueAt(resource, 'properties', 'allow'),
          }))
          .sort((a, b) => (a.policy ?? '').localeCompare(b.policy ?? '')),
      ).toEqual([
        { policy: 'ftp', allow: false },
        { policy: 'scm', allow: false },
      ]);
    });

    it('function app: Flex Consumption, Node 22, one user-assigned identity for everything', () => {
      const plan = resourceOf('Microsoft.Web/serverfarms');
      const site = resourceOf('Microsoft.Web/sites');
      const identityId = valueAt(site, 'properties', 'keyVaultReferenceIdentity');

      expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
      expect(valueAt(plan, 'properties', 'reserved')).toBe(true);
      expect(site.kind).toBe('functionapp,linux');
      expect(valueAt(site, 'identity', 'type')).toBe('UserAssigned');
      expect(
        resourcesOfType(template, 'Microsoft.ManagedIdentity/userAssignedIdentities'),
      ).toHaveLength(1);
      expect(identityId).toMatch(
        /^\[resourceId\('Microsoft\.ManagedIdentity\/userAssignedIdentities'/,
      );
      expect(valueAt(site, 'properties', 'functionAppConfig')).toEqual({
        deployment: {
          storage: {
            type: 'blobContainer',
            value: expect.stringContaining('.primaryEndpoints.blob'),
            authentication: {
              type: 'UserAssignedIdentity',
              userAssignedIdentityResourceId: identityId,
            },
          },
        },
        scaleAndConcurrency: {
          instanceMemoryMB: 2048,
          maximumInstanceCount: "[parameters('maximumInstanceCount')]",
        },
        runtime: { name: 'node', version: '22' },
      });
      expect(textAt(site, 'tags')).toContain("'azd-service-name', 'detector'");
    });

    it('Key Vault: RBAC mode, soft delete and purge protection', () => {
      expect(propertiesOf('Microsoft.KeyVault/vaults')).toMatchObject({
        enableRbacAuthorization: true,
        enableSoftDelete: true,
        enablePurgeProtection: true,
        networkAcls: { bypass: 'AzureServices', defaultAction: 'Allow' },
      });
      expect(propertiesOf('Microsoft.KeyVault/vaults')).not.toHaveProperty('accessPolicies');
    });

    it('Application Insights: workspace-based with local auth off', () => {
      expect(propertiesOf('Microsoft.Insights/components')).toMatchObject({
        DisableLocalAuth: true,
        WorkspaceResourceId: expect.stringContaining('Microsoft.OperationalInsights/workspaces'),
      });
    });
  });

  describe('Easy Auth in front of the admin API', () => {
    const auth = resourcesOfType(template, 'Microsoft.Web/sites/config').find(({ resource }) =>
      resource.name.includes("'authsettingsV2'"),
    )?.resource;

    it('rejects unauthenticated requests with 401 and trusts only the admin app registration', () => {
      expect(valueAt(auth ?? {}, 'properties')).toMatchObject({
        platform: { enabled: true },
        globalValidation: { requireAuthentication: true, unauthenticatedClientAction: 'Return401' },
        identityProviders: {
          azureActiveDirectory: {
            enabled: true,
            registration: {
              clientId: "[parameters('adminApiClientId')]",
              openIdIssuer: "[format('https://sts.windows.net/{0}/v2.0', tenant().tenantId)]",
            },
            validation: {
              allowedAudiences: [
                "[format('api://{0}', parameters('adminApiClientId'))]",
                "[parameters('adminApiClientId')]",
              ],
            },
          },
        },
      });
    });
  });

  describe('outputs', () => {
    it('give azd and the operator names and ids, in UPPER_SNAKE case', () => {
      const names = Object.keys(objectAt(template, 'outputs') ?? {});

      expect(names).toEqual(
        expect.arrayContaining([
          'AZURE_FUNCTION_APP_NAME',
          'AZURE_EVENTHUB_NAMESPACE',
          'AZURE_EVENTHUB_NAMESPACE_HOST',
          'AZURE_EVENTHUB_NAME',
          'AZURE_EVENTHUB_AUTH_RULE_ID',
          'AZURE_KEY_VAULT_NAME',
          'AZURE_STORAGE_ACCOUNT_NAME',
          'ADMIN_API_URL',
        ]),
      );
      for (const name of names) {
        expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      }
    });

    it('are all plain strings, none of them secure or computed from keys', () => {
      for (const { name, output } of allOutputs(template)) {
        expect({ name, type: output.type }).toEqual({ name, type: 'string' });
      }
    });
  });
});
