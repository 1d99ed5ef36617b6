// Everything the detector needs inside one resource group. infra/main.bicep creates the group
// and calls this module; docs/deploy.md explains both ways to deploy it.

@description('Short name of this deployment (the azd environment name: letters, digits and hyphens); prefixes resource names.')
@minLength(1)
@maxLength(20)
param environmentName string

@description('Azure region for every resource in the group.')
param location string = resourceGroup().location

@description('Client (application) id of the admin API app registration that Easy Auth validates tokens for; infra/scripts/create-admin-app.sh prints it. Required: the admin API refuses to serve without Easy Auth.')
@minLength(1)
param adminApiClientId string

@description('Name of the event hub that receives the Entra ID audit log stream.')
param auditEventHubName string = 'entra-audit-logs'

@description('Partitions of the audit event hub; the detector scales to at most one instance per partition. Fixed once created on the Standard tier.')
@minValue(1)
@maxValue(32)
param auditEventHubPartitionCount int = 2

@description('Days the audit event hub keeps events, which is how long the detector can be down without losing records (Standard tier: 1 to 7).')
@minValue(1)
@maxValue(7)
param auditEventHubRetentionDays int = 7

@description('Upper bound on Flex Consumption instances of the function app.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Seconds the function app caches the approved-inviter allowlist before reading the table again.')
@minValue(0)
@maxValue(86400)
param allowlistCacheTtlSeconds int = 60

@description('Days a deleted Key Vault stays recoverable; purge protection keeps its name reserved that long.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionDays int = 90

@description('Days Log Analytics keeps the function app telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@secure()
@description('URL of the Teams Workflows webhook that posts alert cards. Stored only as a Key Vault secret; empty leaves the secret and its app setting out.')
param teamsWebhookUrl string = ''

@secure()
@description('URL of a generic alert webhook (Standard Webhooks). Stored only as a Key Vault secret; empty leaves the secret and its app setting out.')
param alertWebhookUrl string = ''

@secure()
@description('Signing secret (whsec_...) for the generic alert webhook. Stored only as a Key Vault secret; empty leaves the secret and its app setting out.')
param alertWebhookSecret string = ''

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName }

var consumerGroupName = 'detector'
var deploymentContainerName = 'app-package'
var tableNames = {
  allowlist: 'ApprovedInviters'
  allowlistAudit: 'AllowlistAudit'
  alertOutbox: 'AlertOutbox'
  deadLetters: 'DeadLetters'
}
var secretNames = {
  teamsWebhookUrl: 'teams-webhook-url'
  alertWebhookUrl: 'alert-webhook-url'
  alertWebhookSecret: 'alert-webhook-secret'
}

// Built-in role definition ids (docs: Azure built-in roles).
var roles = {
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// The app's only identity. User-assigned so that it, and its role assignments, exist before the
// function app starts, and so that no credential of any kind is stored in the app settings.
resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${environmentName}-${resourceToken}'
  location: location
  tags: tags
}

// Where Application Insights keeps the function app's logs and traces.
resource logWorkspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${environmentName}-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: logRetentionDays
    features: { disableLocalAuth: true }
  }
}

// Telemetry of the detector. Local (instrumentation key) auth is off, so only the app's identity,
// holding Monitoring Metrics Publisher, can send to it.
resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${environmentName}-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logWorkspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

// Receives the Entra ID audit stream. Local (SAS) auth has to stay enabled because Entra
// diagnostic settings can only send with a namespace authorisation rule; the app reads with its
// identity. Public network access stays on: Entra's delivery and the function app (no virtual
// network) both reach the namespace over its public endpoint.
resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: 'evhns-${environmentName}-${resourceToken}'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    minimumTlsVersion: '1.2'
    disableLocalAuth: false
    publicNetworkAccess: 'Enabled'
    isAutoInflateEnabled: false
  }
}

// The hub the tenant diagnostic setting (infra/tenant/main.bicep) streams AuditLogs into.
resource auditEventHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: eventHubNamespace
  name: auditEventHubName
  properties: {
    partitionCount: auditEventHubPartitionCount
    messageRetentionInDays: auditEventHubRetentionDays
  }
}

// The detector's own read position, so other readers of the hub never move its checkpoints.
resource detectorConsumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: auditEventHub
  name: consumerGroupName
}

// The one key-based rule, used only by the Entra diagnostic setting, which requires a
// namespace-level rule with Manage, Send and Listen. Azure creates a rule of this name on every
// namespace; declaring it under that name makes it the only one, instead of a second beside it.
// Nothing in this deployment reads its keys.
resource entraDiagnosticsRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: eventHubNamespace
  name: 'RootManageSharedAccessKey'
  properties: {
    rights: [
      'Manage'
      'Send'
      'Listen'
    ]
  }
}

// Host storage (leases, checkpoints, deployment package) and the detector's tables. Shared keys
// are off: every client authenticates with Entra ID. Public network access stays on because a
// Flex Consumption app without a virtual network reaches storage over public endpoints.
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// Parent of the deployment package container.
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Flex Consumption runs the app from a package in this container, read with the app's identity.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Parent of the detector's tables.
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The approved-inviter allowlist, its change history, alerts waiting to be sent, and records
// the detector could not process. Created here so the app never needs to create tables.
resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in items(tableNames): {
    parent: tableService
    name: tableName.value
  }
]

// Holds the webhook URLs and signing secret, so that no secret sits in an app setting. RBAC mode:
// access is granted by role assignment, never by access policy. Public network access stays on
// (default Allow) because a Flex Consumption app without a virtual network resolves Key Vault
// references over the public endpoint.
resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${resourceToken}'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// Each secret exists only when its value was given, and is read through a Key Vault reference.
resource teamsWebhookUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  parent: keyVault
  name: secretNames.teamsWebhookUrl
  properties: {
    value: teamsWebhookUrl
    contentType: 'text/plain'
  }
}

// See teamsWebhookUrlSecret.
resource alertWebhookUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(alertWebhookUrl)) {
  parent: keyVault
  name: secretNames.alertWebhookUrl
  properties: {
    value: alertWebhookUrl
    contentType: 'text/plain'
  }
}

// See teamsWebhookUrlSecret.
resource alertWebhookSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(alertWebhookSecret)) {
  parent: keyVault
  name: secretNames.alertWebhookSecret
  properties: {
    value: alertWebhookSecret
    contentType: 'text/plain'
  }
}

// Lets the app read events from the audit hub only, not from other hubs of the namespace.
resource auditHubReceiverRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: auditEventHub
  name: guid(auditEventHub.id, appIdentity.id, roles.eventHubsDataReceiver)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Blob Data Owner on the account, not on one container: the Functions host creates and manages
// its own containers (azure-webjobs-hosts for leases, azure-webjobs-eventhub for Event Hubs
// checkpoints, azure-webjobs-secrets for keys) and the platform reads the deployment package.
// Storage Queue Data Contributor is left out: the host needs queues only for blob triggers and
// Durable Functions, which this app does not use.
resource storageBlobOwnerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, appIdentity.id, roles.storageBlobDataOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Table Data Contributor on the account rather than per table: besides the four tables above,
// the Functions host writes its diagnostic events to tables it creates itself in the
// AzureWebJobsStorage account (diagnostic event AZFD0003).
resource storageTableContributorRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, appIdentity.id, roles.storageTableDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageTableDataContributor
    )
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Lets the platform resolve the app's Key Vault references. On the vault rather than per secret:
// the vault holds only this app's secrets, and secrets added or rotated later with the CLI stay
// readable.
resource keyVaultSecretsUserRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: keyVault
  name: guid(keyVault.id, appIdentity.id, roles.keyVaultSecretsUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Lets the app send telemetry to Application Insights with Entra auth (local auth is off).
resource appInsightsPublisherRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, appIdentity.id, roles.monitoringMetricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.monitoringMetricsPublisher
    )
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The Flex Consumption plan: scales to zero, bills per execution, Linux only.
resource functionPlan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${environmentName}-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// serviceBusEndpoint reads https://<namespace>.servicebus.windows.net:443/ (another suffix in
// sovereign clouds); identity-based Event Hubs connections want the bare host name.
var eventHubNamespaceHost = replace(
  replace(eventHubNamespace.properties.serviceBusEndpoint, 'https://', ''),
  ':443/',
  ''
)

// Settings the app reads. Connections name the user-assigned identity; no key, connection string
// or secret value appears here. The webhook settings exist only as Key Vault references.
var appSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storage.name }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: appIdentity.properties.clientId }
  { name: 'AuditEventHub__fullyQualifiedNamespace', value: eventHubNamespaceHost }
  { name: 'AuditEventHub__credential', value: 'managedidentity' }
  { name: 'AuditEventHub__clientId', value: appIdentity.properties.clientId }
  { name: 'AUDIT_EVENTHUB_NAME', value: auditEventHub.name }
  { name: 'AUDIT_EVENTHUB_CONSUMER_GROUP', value: detectorConsumerGroup.name }
  { name: 'TABLES_ENDPOINT', value: storage.properties.primaryEndpoints.table }
  { name: 'AZURE_CLIENT_ID', value: appIdentity.properties.clientId }
  { name: 'ALLOWLIST_TABLE', value: tableNames.allowlist }
  { name: 'ALLOWLIST_AUDIT_TABLE', value: tableNames.allowlistAudit }
  { name: 'ALERT_OUTBOX_TABLE', value: tableNames.alertOutbox }
  { name: 'DEAD_LETTER_TABLE', value: tableNames.deadLetters }
  { name: 'ALLOWLIST_CACHE_TTL_SECONDS', value: string(allowlistCacheTtlSeconds) }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${appIdentity.properties.clientId};Authorization=AAD'
  }
]

// Key Vault references to each secret's current version, so that a rotated secret needs no
// redeployment. Each setting exists only when its secret was given.
var vaultSecretsUri = '${keyVault.properties.vaultUri}secrets/'
var webhookSettings = [
  ...(empty(teamsWebhookUrl)
    ? []
    : [
        {
          name: 'TEAMS_WEBHOOK_URL'
          value: '@Microsoft.KeyVault(SecretUri=${vaultSecretsUri}${secretNames.teamsWebhookUrl})'
        }
      ])
  ...(empty(alertWebhookUrl)
    ? []
    : [
        {
          name: 'ALERT_WEBHOOK_URL'
          value: '@Microsoft.KeyVault(SecretUri=${vaultSecretsUri}${secretNames.alertWebhookUrl})'
        }
      ])
  ...(empty(alertWebhookSecret)
    ? []
    : [
        {
          name: 'ALERT_WEBHOOK_SECRET'
          value: '@Microsoft.KeyVault(SecretUri=${vaultSecretsUri}${secretNames.alertWebhookSecret})'
        }
      ])
]

// The detector itself: the Event Hub trigger and the admin API. Depends on the role assignments
// and secrets so that its first start can already read the hub, storage and Key Vault.
resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${environmentName}-${resourceToken}'
  location: location
  tags: union(tags, { 'azd-service-name': 'detector' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${appIdentity.id}': {}
    }
  }
  properties: {
    serverFarmId: functionPlan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: appIdentity.id
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(appSettings, webhookSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: appIdentity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: 2048
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
  dependsOn: [
    auditHubReceiverRole
    storageBlobOwnerRole
    storageTableContributorRole
    keyVaultSecretsUserRole
    appInsightsPublisherRole
    teamsWebhookUrlSecret
    alertWebhookUrlSecret
    alertWebhookSecretSecret
    tables
  ]
}

// Turns off FTP publishing with the site's basic (user name and password) credentials.
resource ftpPublishingOff 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

// Turns off SCM (Kudu) publishing with basic credentials; deployments authenticate with Entra ID.
resource scmPublishingOff 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// Easy Auth in front of the admin API: the platform rejects requests without a valid Entra token
// for the admin app registration (401) before they reach the code, and the code checks app roles.
resource adminApiAuth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: adminApiClientId
          // The issuer form the App Service documentation uses for single-tenant registrations.
          openIdIssuer: 'https://sts.windows.net/${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${adminApiClientId}'
            adminApiClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

@description('Name of the function app.')
output functionAppName string = functionApp.name

@description('Base URL of the admin API (behind Easy Auth).')
output adminApiUrl string = 'https://${functionApp.properties.defaultHostName}/api'

@description('Name of the Event Hubs namespace.')
output eventHubNamespaceName string = eventHubNamespace.name

@description('Fully qualified host name of the Event Hubs namespace.')
output eventHubNamespaceHost string = eventHubNamespaceHost

@description('Name of the audit event hub.')
output auditEventHubName string = auditEventHub.name

@description('Resource id of the namespace rule the tenant diagnostic setting sends with (an id, not a key).')
output entraDiagnosticsRuleId string = entraDiagnosticsRule.id

@description('Name of the Key Vault holding the webhook secrets.')
output keyVaultName string = keyVault.name

@description('Name of the storage account.')
output storageAccountName string = storage.name

@description('Client id of the app\'s user-assigned identity.')
output appIdentityClientId string = appIdentity.properties.clientId
