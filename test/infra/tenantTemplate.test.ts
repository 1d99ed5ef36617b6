import { loadTemplate, onlyResourceOfType, valueAt } from './armTemplate';
import { findSecretExposures } from './secretExposure';

// The committed output of `bicep build infra/tenant/main.bicep`.
const template = loadTemplate('infra/tenant/main.json');

describe('infra/tenant/main.json', () => {
  const setting = onlyResourceOfType(template, 'microsoft.aadiam/diagnosticSettings').resource;

  it('is a tenant-scope deployment', () => {
    expect(template.$schema).toContain('tenantDeploymentTemplate.json');
  });

  it('streams only the AuditLogs category to the given hub with the given rule', () => {
    expect(setting.apiVersion).toBe('2017-04-01');
    expect(setting.properties).toEqual({
      eventHubAuthorizationRuleId: "[parameters('eventHubAuthorizationRuleId')]",
      eventHubName: "[parameters('eventHubName')]",
      logs: [{ category: 'AuditLogs', enabled: true }],
    });
  });

  it('takes the rule id and hub name as required parameters', () => {
    for (const name of ['eventHubAuthorizationRuleId', 'eventHubName']) {
      expect(valueAt(template, 'parameters', name, 'type')).toBe('string');
      expect(valueAt(template, 'parameters', name, 'defaultValue')).toBeUndefined();
    }
    expect(setting.name).toBe("[parameters('settingName')]");
  });

  it('reads no keys and exposes no secret', () => {
    expect(findSecretExposures(template)).toEqual([]);
  });
});
