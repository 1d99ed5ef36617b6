// Streams the tenant's Entra ID audit log to the detector's event hub. Deployed apart from
// infra/main.bicep, with `az deployment tenant create`, because it is a tenant-wide setting that
// needs Entra Security Administrator and Azure rights at the root scope "/".
targetScope = 'tenant'

@description('Resource id of the namespace-level authorisation rule (Manage, Send, Listen) to send with: the AZURE_EVENTHUB_AUTH_RULE_ID output of infra/main.bicep.')
param eventHubAuthorizationRuleId string

@description('Name of the event hub to send to: the AZURE_EVENTHUB_NAME output of infra/main.bicep.')
param eventHubName string

@description('Name of the diagnostic setting, unique in the tenant.')
param settingName string = 'guest-invite-detector-audit-logs'

// The Entra diagnostic setting that streams AuditLogs (and nothing else) to the event hub.
// Bicep 0.49 ships a type for this API version, so it is validated and needs no BCP081
// suppression; scripts/check-infra.sh fails on any warning if a future Bicep drops the type.
resource auditLogsToEventHub 'microsoft.aadiam/diagnosticSettings@2017-04-01' = {
  name: settingName
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    eventHubName: eventHubName
    logs: [
      {
        category: 'AuditLogs'
        enabled: true
      }
    ]
  }
}

@description('Resource id of the diagnostic setting.')
output DIAGNOSTIC_SETTING_ID string = auditLogsToEventHub.id
