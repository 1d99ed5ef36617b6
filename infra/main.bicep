// Entry point for `azd up` and `az deployment sub create`: creates the resource group and deploys
// infra/resources.bicep into it. The tenant-wide diagnostic setting is separate
// (infra/tenant/main.bicep) because it needs Entra rights the resource deployer may not have.
targetScope = 'subscription'

@description('Short name of this deployment (the azd environment name: letters, digits and hyphens); prefixes resource names.')
@minLength(1)
@maxLength(20)
param environmentName string

@description('Azure region for the resource group and every resource in it.')
param location string

@description('Name of the resource group to create; empty means rg-<environmentName>.')
param resourceGroupName string = ''

@description('Client (application) id of the admin API app registration (infra/scripts/create-admin-app.sh prints it). Required: the admin API refuses to serve without Easy Auth.')
@minLength(1)
param adminApiClientId string

@description('Partitions of the audit event hub (1 to 32); the detector runs at most one instance per partition.')
@minValue(1)
@maxValue(32)
param auditEventHubPartitionCount int = 2

@description('Days the audit event hub keeps events (1 to 7).')
@minValue(1)
@maxValue(7)
param auditEventHubRetentionDays int = 7

@description('Upper bound on Flex Consumption instances of the function app.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Seconds the function app caches the approved-inviter allowlist.')
@minValue(0)
@maxValue(86400)
param allowlistCacheTtlSeconds int = 60

@description('Days a deleted Key Vault stays recoverable (7 to 90); purge protection keeps its name reserved that long.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionDays int = 90

@secure()
@description('URL of the Teams Workflows webhook; stored only in Key Vault. Empty leaves it out.')
param teamsWebhookUrl string = ''

@secure()
@description('URL of the generic alert webhook; stored only in Key Vault. Empty leaves it out.')
param alertWebhookUrl string = ''

@secure()
@description('Signing secret (whsec_...) of the generic alert webhook; stored only in Key Vault. Empty leaves it out.')
param alertWebhookSecret string = ''

// Holds every resource of one deployment, so that removing it is one command.
resource resourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: { 'azd-env-name': environmentName }
}

// The detector's resources, all inside the group above.
module resources 'resources.bicep' = {
  name: 'guest-invite-detector-resources'
  scope: resourceGroup
  params: {
    environmentName: environmentName
    location: location
    adminApiClientId: adminApiClientId
    auditEventHubPartitionCount: auditEventHubPartitionCount
    auditEventHubRetentionDays: auditEventHubRetentionDays
    maximumInstanceCount: maximumInstanceCount
    allowlistCacheTtlSeconds: allowlistCacheTtlSeconds
    keyVaultSoftDeleteRetentionDays: keyVaultSoftDeleteRetentionDays
    teamsWebhookUrl: teamsWebhookUrl
    alertWebhookUrl: alertWebhookUrl
    alertWebhookSecret: alertWebhookSecret
  }
}

@description('Region of the deployment (azd reads it).')
output AZURE_LOCATION string = location

@description('Tenant the resources and the admin app registration live in.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group holding every resource.')
output AZURE_RESOURCE_GROUP string = resourceGroup.name

@description('Name of the function app.')
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName

@description('Base URL of the admin API (behind Easy Auth).')
output ADMIN_API_URL string = resources.outputs.adminApiUrl

@description('Name of the Event Hubs namespace.')
output AZURE_EVENTHUB_NAMESPACE string = resources.outputs.eventHubNamespaceName

@description('Host name of the Event Hubs namespace, for send-test-event --namespace.')
output AZURE_EVENTHUB_NAMESPACE_HOST string = resources.outputs.eventHubNamespaceHost

@description('Name of the audit event hub.')
output AZURE_EVENTHUB_NAME string = resources.outputs.auditEventHubName

@description('Resource id (not a key) of the rule the tenant diagnostic setting sends with.')
output AZURE_EVENTHUB_AUTH_RULE_ID string = resources.outputs.entraDiagnosticsRuleId

@description('Name of the Key Vault holding the webhook secrets.')
output AZURE_KEY_VAULT_NAME string = resources.outputs.keyVaultName

@description('Name of the storage account holding the tables.')
output AZURE_STORAGE_ACCOUNT_NAME string = resources.outputs.storageAccountName

@description('Client id of the function app\'s user-assigned identity.')
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = resources.outputs.appIdentityClientId
