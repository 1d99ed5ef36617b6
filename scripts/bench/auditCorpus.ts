import type { AllowlistEntry } from '../../lib/allowlistEntry';
import { SeededRandom } from './seededRandom';

/** The kinds of record the corpus holds; only the first three are Entra audit records. */
export type CorpusShape = 'resource-log' | 'graph' | 'log-analytics' | 'sign-in';

export interface CorpusRecord {
  shape: CorpusShape;
  /** A guest invitation, which the detector evaluates against the allowlist. */
  invitation: boolean;
  element: Record<string, unknown>;
}

/** One message body as the Event Hub (or an export page) carries it, with what it holds. */
export interface CorpusMessage {
  body: string;
  shape: CorpusShape;
  records: number;
  invitations: number;
}

export interface CorpusOptions {
  seed?: number;
  /** Share of all records that are guest invitations; 0.01 unless told. */
  invitationShare?: number;
  allowlistSize?: number;
  /** Records per message, both included; Entra batches many records into one message. */
  recordsPerMessage?: [number, number];
}

/**
 * Shares of records by shape. Entra streams audit and sign-in logs to Event Hubs as
 * resource-log records; Graph and Log Analytics records reach the detector through `scan`.
 */
export const SHAPE_SHARES: Record<CorpusShape, number> = {
  'resource-log': 0.72,
  'sign-in': 0.16,
  graph: 0.06,
  'log-analytics': 0.06,
};

const SIGN_IN_CATEGORIES = [
  'SignInLogs',
  'NonInteractiveUserSignInLogs',
  'ServicePrincipalSignInLogs',
  'ManagedIdentitySignInLogs',
];

interface ActivityTemplate {
  activity: string;
  category: string;
  service: string;
  operationType: string;
  targetType: string;
}

// Activities from Microsoft's audit activity reference; "Redeem external user invite" is a
// near miss that shares the invitations' category.
const OTHER_ACTIVITIES: ActivityTemplate[] = [
  activity('Update user', 'UserManagement', 'Core Directory', 'Update', 'User'),
  activity('Add user', 'UserManagement', 'Core Directory', 'Add', 'User'),
  activity('Delete user', 'UserManagement', 'Core Directory', 'Delete', 'User'),
  activity(
    'Reset user password',
    'UserManagement',
    'Self-service Password Management',
    'Update',
    'User',
  ),
  activity(
    'Update StsRefreshTokenValidFrom Timestamp',
    'UserManagement',
    'Core Directory',
    'Update',
    'User',
  ),
  activity('Redeem external user invite', 'UserManagement', 'B2B Auth', 'Update', 'User'),
  activity('Add member to group', 'GroupManagement', 'Core Directory', 'Assign', 'Group'),
  activity('Remove member from group', 'GroupManagement', 'Core Directory', 'Unassign', 'Group'),
  activity('Update group', 'GroupManagement', 'Core Directory', 'Update', 'Group'),
  activity('Add member to role', 'RoleManagement', 'Core Directory', 'Assign', 'Role'),
  activity(
    'Add service principal credentials',
    'ApplicationManagement',
    'Core Directory',
    'Update',
    'ServicePrincipal',
  ),
  activity(
    'Update application – Certificates and secrets management ',
    'ApplicationManagement',
    'Core Directory',
    'Update',
    'Application',
  ),
  activity(
    'Consent to application',
    'ApplicationManagement',
    'Core Directory',
    'Assign',
    'ServicePrincipal',
  ),
  activity('Update policy', 'Policy', 'Core Directory', 'Update', 'Policy'),
  activity('Add device', 'Device', 'Device Registration Service', 'Add', 'Device'),
];

const INVITATION_ACTIVITIES = [
  'Invite external user',
  'Invite external user',
  'Invite external user',
  'Invite external user with reset invitation status',
  'Invite internal user to B2B collaboration',
];

const FIRST_NAMES = [
  'ada',
  'ben',
  'chloe',
  'dev',
  'elif',
  'femi',
  'greta',
  'hiro',
  'ines',
  'jonas',
  'kemal',
  'lena',
  'mateo',
  'nadia',
  'oskar',
  'priya',
  'quinn',
  'rosa',
  'sami',
  'tariq',
  'uma',
  'viktor',
  'wen',
  'ximena',
  'yusuf',
  'zara',
];
const LAST_NAMES = [
  'abara',
  'brandt',
  'castillo',
  'dubois',
  'eriksen',
  'farouk',
  'gallo',
  'haddad',
  'ivanova',
  'jensen',
  'kowalski',
  'lindqvist',
  'moreau',
  'novak',
  'okafor',
  'petrov',
  'quispe',
  'rossi',
  'sato',
  'tanaka',
  'ueda',
  'varga',
  'weber',
  'yilmaz',
  'zhou',
];
const PARTNER_DOMAINS = [
  'partner-one.example',
  'partner-two.example',
  'supplier.example',
  'lawfirm.example',
  'auditors.example',
  'agency.example',
  'contractor.example',
  'university.example',
  'mail.example',
  'freemail.example',
];
const APP_NAMES = [
  'HR Onboarding Sync',
  'Partner Portal',
  'Access Reviews Automation',
  'Sales Collaboration Bot',
  'Vendor Management',
  'Project Workspace Provisioner',
];
const IP_PREFIXES = ['203.0.113.', '198.51.100.', '192.0.2.'];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
  'Microsoft Azure Graph Client Library 2.1.17-internal',
];

const TENANT_DOMAIN = 'woodgrove-bench.example';
const TENANT_INITIAL_DOMAIN = 'woodgrovebench.onmicrosoft.com';
/** Audit records start here and advance a few milliseconds each. */
const START_TIME = Date.parse('2026-11-18T00:00:00Z');

interface TenantUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
}

interface TenantApp {
  appId: string;
  servicePrincipalId: string;
  displayName: string;
}

type Initiator = { user: Record<string, unknown> } | { app: Record<string, unknown> };

interface AuditEvent {
  id: string;
  template: ActivityTemplate;
  result: string;
  resultReason: string;
  time: string;
  correlationId: string;
  initiatedBy: Initiator;
  callerIp: string;
  targetResources: Record<string, unknown>[];
  additionalDetails: { key: string; value: string }[];
}

function activity(
  name: string,
  category: string,
  service: string,
  operationType: string,
  targetType: string,
): ActivityTemplate {
  return { activity: name, category, service, operationType, targetType };
}

/**
 * A realistic, reproducible stream of Entra log records for the benchmark: Event Hubs
 * resource-log audit records (about 2 KB each), sign-in records the detector ignores, Graph
 * directoryAudit pages and Log Analytics rows with their JSON-text columns, with about one
 * record in a hundred a guest invitation by an inviter who may or may not be allowlisted.
 * All identities are invented.
 */
export class AuditCorpus {
  readonly tenantId: string;
  /** The allowlist the invitations are judged against: users, apps, some expired or limited. */
  readonly allowlist: AllowlistEntry[];
  private readonly random: SeededRandom;
  private readonly invitationShareOfAudit: number;
  private readonly recordsPerMessage: [number, number];
  private readonly users: TenantUser[];
  private readonly apps: TenantApp[];
  private readonly approvedUsers: TenantUser[];
  private readonly approvedApps: TenantApp[];
  private readonly unlistedUsers: TenantUser[];
  private clock = START_TIME;

  constructor(options: CorpusOptions = {}) {
    this.random = new SeededRandom(options.seed ?? 20_261_118);
    // Sign-ins are never invitations, so audit records carry the whole share.
    this.invitationShareOfAudit = (options.invitationShare ?? 0.01) / (1 - SHAPE_SHARES['sign-in']);
    this.recordsPerMessage = options.recordsPerMessage ?? [5, 35];
    this.tenantId = this.random.guid();
    this.users = Array.from({ length: 5000 }, (_, index) => this.newUser(index));
    this.apps = Array.from({ length: 200 }, (_, index) => this.newApp(index));

    const allowlistSize = options.allowlistSize ?? 300;
    const appEntries = Math.round(allowlistSize / 5);
    this.approvedUsers = this.users.slice(0, allowlistSize - appEntries);
    this.approvedApps = this.apps.slice(0, appEntries);
    this.unlistedUsers = this.users.slice(this.approvedUsers.length);
    this.allowlist = [
      ...this.approvedUsers.map((user, index) =>
        this.entry(index % 2 === 0 ? user.userPrincipalName : user.id, index),
      ),
      ...this.approvedApps.map((app, index) =>
        this.entry(index % 2 === 0 ? app.appId : app.servicePrincipalId, index),
      ),
    ];
  }

  /** One record of a shape drawn by SHAPE_SHARES, or of the shape asked for. */
  nextRecord(shape: CorpusShape = this.drawShape()): CorpusRecord {
    if (shape === 'sign-in') {
      return {
        shape,
        invitation: false,
        element: this.signInRecord(this.random.pick(SIGN_IN_CATEGORIES)),
      };
    }

    const invitation = this.random.chance(this.invitationShareOfAudit);
    const event = invitation ? this.invitationEvent() : this.otherEvent();

    return { shape, invitation, element: render(shape, event, this.tenantId) };
  }

  /** One message body: an Event Hubs `{"records":[...]}`, a Graph page or an export page. */
  nextMessage(maxRecords = Number.POSITIVE_INFINITY): CorpusMessage {
    const shape = this.drawShape();
    const count = Math.min(maxRecords, this.random.integer(...this.recordsPerMessage));
    const records: Record<string, unknown>[] = [];
    let invitations = 0;
    // Entra sends each log category in messages of its own.
    const signInCategory = this.random.pick(SIGN_IN_CATEGORIES);
    for (let index = 0; index < count; index += 1) {
      if (shape === 'sign-in') {
        records.push(this.signInRecord(signInCategory));
        continue;
      }
      const record = this.nextRecord(shape);
      invitations += record.invitation ? 1 : 0;
      records.push(record.element);
    }

    return { body: JSON.stringify(envelope(shape, records)), shape, records: count, invitations };
  }

  /** Message bodies adding up to at least `bytes` of JSON text. */
  messages(bytes: number): CorpusMessage[] {
    const messages: CorpusMessage[] = [];
    let total = 0;
    while (total < bytes) {
      const message = this.nextMessage();
      total += message.body.length;
      messages.push(message);
    }

    return messages;
  }

  /** One Event Hub trigger batch: message bodies holding exactly `records` records in all. */
  batch(records: number): CorpusMessage[] {
    const messages: CorpusMessage[] = [];
    let remaining = records;
    while (remaining > 0) {
      const message = this.nextMessage(remaining);
      remaining -= message.records;
      messages.push(message);
    }

    return messages;
  }

  /** One line of an NDJSON export: a single record of any shape. */
  nextLine(): { line: string; invitation: boolean } {
    const record = this.nextRecord();

    return { line: JSON.stringify(record.element), invitation: record.invitation };
  }

  private drawShape(): CorpusShape {
    let draw = this.random.next();
    for (const [shape, share] of Object.entries(SHAPE_SHARES) as [CorpusShape, number][]) {
      draw -= share;
      if (draw < 0) {
        return shape;
      }
    }

    return 'resource-log';
  }

  private newUser(index: number): TenantUser {
    const first = this.random.pick(FIRST_NAMES);
    const last = this.random.pick(LAST_NAMES);

    return {
      id: this.random.guid(),
      userPrincipalName: `${first}.${last}${index}@${TENANT_DOMAIN}`,
      displayName: `${capitalise(first)} ${capitalise(last)}`,
    };
  }

  private newApp(index: number): TenantApp {
    return {
      appId: this.random.guid(),
      servicePrincipalId: this.random.guid(),
      displayName: `${this.random.pick(APP_NAMES)} ${index}`,
    };
  }

  private entry(inviter: string, index: number): AllowlistEntry {
    const entry: AllowlistEntry = { inviter: inviter.toLowerCase() };
    // One in ten approvals has lapsed, most others run to the end of next year.
    if (index % 10 === 3) {
      entry.expiresAt = '2026-06-30T00:00:00Z';
    } else if (index % 10 < 7) {
      entry.expiresAt = '2027-12-31T23:59:59Z';
    }
    if (index % 3 === 0) {
      entry.allowedDomains = PARTNER_DOMAINS.slice(index % 4, (index % 4) + 3);
    }
    entry.note = `Approved guest inviter ${index}; ticket SEC-${1000 + index}`;

    return entry;
  }

  private nextTime(): string {
    this.clock += this.random.integer(1, 40);

    return entraTime(this.clock, this.random);
  }

  private ip(): string {
    return `${this.random.pick(IP_PREFIXES)}${this.random.integer(1, 254)}`;
  }

  private userInitiator(user: TenantUser): Initiator {
    return {
      user: {
        id: user.id,
        displayName: null,
        userPrincipalName: user.userPrincipalName,
        ipAddress: this.random.chance(0.1) ? '<null>' : this.ip(),
        roles: [],
      },
    };
  }

  private appInitiator(app: TenantApp): Initiator {
    return {
      app: {
        appId: app.appId,
        displayName: app.displayName,
        servicePrincipalId: app.servicePrincipalId,
        servicePrincipalName: null,
      },
    };
  }

  private invitationEvent(): AuditEvent {
    const draw = this.random.next();
    let initiatedBy: Initiator;
    if (draw < 0.7) {
      initiatedBy = this.userInitiator(this.random.pick(this.approvedUsers));
    } else if (draw < 0.8) {
      initiatedBy = this.appInitiator(this.random.pick(this.approvedApps));
    } else if (draw < 0.95) {
      initiatedBy = this.userInitiator(this.random.pick(this.unlistedUsers));
    } else {
      const local = `${this.random.pick(FIRST_NAMES)}_${this.random.pick(PARTNER_DOMAINS)}`;
      initiatedBy = this.userInitiator({
        id: this.random.guid(),
        userPrincipalName: `${local}#EXT#@${TENANT_INITIAL_DOMAIN}`,
        displayName: 'Guest inviter',
      });
    }

    const name = `${this.random.pick(FIRST_NAMES)}.${this.random.pick(LAST_NAMES)}`;
    const domain = this.random.pick(PARTNER_DOMAINS);
    const guestId = this.random.guid();
    const correlationId = this.random.guid();
    const inviterId =
      'user' in initiatedBy ? initiatedBy.user.id : initiatedBy.app.servicePrincipalId;

    return {
      id: `Invited Users_${correlationId}_${this.random.token(5)}_${this.random.integer(1e6, 9e7)}`,
      template: activity(
        this.random.pick(INVITATION_ACTIVITIES),
        'UserManagement',
        'Invited Users',
        'Add',
        'User',
      ),
      result: this.random.chance(0.97) ? 'success' : 'failure',
      resultReason: '',
      time: this.nextTime(),
      correlationId,
      initiatedBy,
      callerIp: this.ip(),
      targetResources: [
        {
          id: guestId,
          displayName: null,
          type: 'User',
          userPrincipalName: `${name}_${domain}#EXT#@${TENANT_INITIAL_DOMAIN}`,
          modifiedProperties: [],
          administrativeUnits: [],
        },
      ],
      additionalDetails: [
        { key: 'oid', value: String(inviterId) },
        { key: 'tid', value: this.tenantId },
        { key: 'ipaddr', value: this.ip() },
        { key: 'wids', value: 'b79fbf4d-3ef9-4689-8143-76b194e85509' },
        { key: 'InvitationId', value: this.random.guid() },
        { key: 'invitedUserEmailAddress', value: `${name}@${domain}` },
      ],
    };
  }

  private otherEvent(): AuditEvent {
    const template = this.random.pick(OTHER_ACTIVITIES);
    const correlationId = this.random.guid();
    const byApp = template.category === 'ApplicationManagement' || this.random.chance(0.2);
    const initiatedBy = byApp
      ? this.appInitiator(this.random.pick(this.apps))
      : this.userInitiator(this.random.pick(this.users));
    const target = this.random.pick(this.users);

    return {
      id: `Directory_${correlationId}_${this.random.token(5)}_${this.random.integer(1e6, 9e7)}`,
      template,
      result: this.random.chance(0.95) ? 'success' : 'failure',
      resultReason: '',
      time: this.nextTime(),
      correlationId,
      initiatedBy,
      callerIp: this.ip(),
      targetResources: [
        {
          id: template.targetType === 'User' ? target.id : this.random.guid(),
          displayName:
            template.targetType === 'User'
              ? null
              : `${template.targetType} ${this.random.token(6)}`,
          type: template.targetType,
          userPrincipalName: template.targetType === 'User' ? target.userPrincipalName : null,
          modifiedProperties: this.modifiedProperties(),
          administrativeUnits: [],
        },
      ],
      additionalDetails: [
        { key: 'User-Agent', value: this.random.pick(USER_AGENTS) },
        { key: 'AppId', value: this.random.pick(this.apps).appId },
      ],
    };
  }

  private modifiedProperties(): Record<string, unknown>[] {
    const count = this.random.integer(1, 4);
    const properties: Record<string, unknown>[] = [];
    for (let index = 0; index < count; index += 1) {
      properties.push({
        displayName: this.random.pick([
          'AccountEnabled',
          'Department',
          'JobTitle',
          'KeyDescription',
          'StsRefreshTokensValidFrom',
          'AssignedLicense',
        ]),
        oldValue: `["[KeyIdentifier=${this.random.guid()},KeyType=Password,KeyUsage=Verify]"]`,
        newValue: `["[KeyIdentifier=${this.random.guid()},KeyType=Password,KeyUsage=Verify]"]`,
      });
    }
    properties.push({
      displayName: 'Included Updated Properties',
      oldValue: null,
      newValue: '"AccountEnabled, Department, JobTitle"',
    });

    return properties;
  }

  private signInRecord(category: string): Record<string, unknown> {
    const user = this.random.pick(this.users);
    const app = this.random.pick(this.apps);
    const id = this.random.guid();
    const time = this.nextTime();
    const ip = this.ip();
    const failed = this.random.chance(0.08);

    return {
      time,
      resourceId: `/tenants/${this.tenantId}/providers/Microsoft.aadiam`,
      operationName: 'Sign-in activity',
      operationVersion: '1.0',
      category,
      tenantId: this.tenantId,
      resultType: failed ? '50126' : '0',
      resultSignature: 'None',
      resultDescription: failed ? 'Invalid username or password.' : '',
      durationMs: 0,
      callerIpAddress: ip,
      correlationId: this.random.guid(),
      identity: user.displayName,
      Level: 4,
      location: 'GB',
      properties: {
        id,
        createdDateTime: time.replace('Z', '+00:00'),
        userDisplayName: user.displayName,
        userPrincipalName: user.userPrincipalName,
        userId: user.id,
        appId: app.appId,
        appDisplayName: app.displayName,
        ipAddress: ip,
        status: failed
          ? { errorCode: 50126, failureReason: 'Invalid username or password.' }
          : { errorCode: 0 },
        clientAppUsed: 'Browser',
        userAgent: this.random.pick(USER_AGENTS),
        conditionalAccessStatus: 'success',
        isInteractive: category === 'SignInLogs',
        tokenIssuerType: 'AzureAD',
        riskLevelAggregated: 'none',
        riskState: 'none',
        resourceDisplayName: 'Microsoft Graph',
        resourceId: '00000003-0000-0000-c000-000000000000',
        deviceDetail: {
          deviceId: this.random.guid(),
          displayName: `LAPTOP-${this.random.token(7)}`,
          operatingSystem: 'Windows10',
          browser: 'Edge 131.0.0',
          isCompliant: true,
          isManaged: true,
          trustType: 'Azure AD joined',
        },
        location: {
          city: 'London',
          state: 'London',
          countryOrRegion: 'GB',
          geoCoordinates: { latitude: 51.5072, longitude: -0.1276 },
        },
        appliedConditionalAccessPolicies: [
          {
            id: this.random.guid(),
            displayName: 'Require MFA for all users',
            enforcedGrantControls: ['Mfa'],
            enforcedSessionControls: [],
            result: 'success',
          },
          {
            id: this.random.guid(),
            displayName: 'Block legacy authentication',
            enforcedGrantControls: ['Block'],
            enforcedSessionControls: [],
            result: 'notApplied',
          },
        ],
        authenticationDetails: [
          {
            authenticationStepDateTime: time.replace('Z', '+00:00'),
            authenticationMethod: 'Password',
            succeeded: !failed,
            authenticationStepResultDetail: failed ? 'Invalid password' : 'Correct password',
          },
        ],
      },
    };
  }
}

function render(shape: CorpusShape, event: AuditEvent, tenantId: string): Record<string, unknown> {
  switch (shape) {
    case 'resource-log':
      return resourceLogRecord(event, tenantId);
    case 'graph':
      return graphRecord(event);
    case 'log-analytics':
      return logAnalyticsRow(event, tenantId);
    case 'sign-in':
      throw new Error('sign-in records are not audit events');
  }
}

/** As Entra diagnostic settings stream audit records to Event Hubs. */
function resourceLogRecord(event: AuditEvent, tenantId: string): Record<string, unknown> {
  return {
    time: event.time,
    resourceId: `/tenants/${tenantId}/providers/Microsoft.aadiam`,
    operationName: event.template.activity,
    operationVersion: '1.0',
    category: 'AuditLogs',
    tenantId,
    resultSignature: 'None',
    durationMs: 0,
    callerIpAddress: event.callerIp,
    correlationId: event.correlationId,
    Level: 4,
    properties: {
      id: event.id,
      category: event.template.category,
      correlationId: event.correlationId,
      result: event.result,
      resultReason: event.resultReason,
      activityDisplayName: event.template.activity,
      activityDateTime: event.time.replace('Z', '+00:00'),
      loggedByService: event.template.service,
      operationType: event.template.operationType,
      userAgent: null,
      initiatedBy: event.initiatedBy,
      targetResources: event.targetResources,
      additionalDetails: event.additionalDetails,
    },
  };
}

/** A Microsoft Graph directoryAudit object. */
function graphRecord(event: AuditEvent): Record<string, unknown> {
  return {
    id: event.id,
    category: event.template.category,
    correlationId: event.correlationId,
    result: event.result,
    resultReason: event.resultReason,
    activityDisplayName: event.template.activity,
    activityDateTime: event.time,
    loggedByService: event.template.service,
    operationType: event.template.operationType,
    initiatedBy: { user: null, app: null, ...event.initiatedBy },
    targetResources: event.targetResources,
    additionalDetails: event.additionalDetails,
  };
}

/** A Log Analytics AuditLogs row as exported: dynamic columns are JSON text. */
function logAnalyticsRow(event: AuditEvent, tenantId: string): Record<string, unknown> {
  return {
    TenantId: 'a6b2c3d4-0000-4000-8000-00000000beef',
    SourceSystem: 'Azure AD',
    TimeGenerated: event.time,
    ResourceId: `/tenants/${tenantId}/providers/Microsoft.aadiam`,
    OperationName: `${event.template.activity} `,
    OperationVersion: '1.0',
    Category: event.template.category,
    ResultType: '',
    ResultSignature: 'None',
    ResultDescription: '',
    DurationMs: '0',
    CorrelationId: event.correlationId,
    Resource: 'Microsoft.aadiam',
    ResourceGroup: 'Microsoft.aadiam',
    ResourceProvider: '',
    Identity: '',
    Level: '4',
    Location: '',
    AdditionalDetails: JSON.stringify(event.additionalDetails),
    Id: event.id,
    InitiatedBy: JSON.stringify(event.initiatedBy),
    LoggedByService: event.template.service,
    Result: event.result,
    ResultReason: event.resultReason,
    TargetResources: JSON.stringify(event.targetResources),
    AADTenantId: tenantId,
    ActivityDisplayName: event.template.activity,
    ActivityDateTime: event.time,
    AADOperationType: event.template.operationType,
    Type: 'AuditLogs',
  };
}

function envelope(shape: CorpusShape, records: Record<string, unknown>[]): unknown {
  switch (shape) {
    case 'resource-log':
    case 'sign-in':
      return { records };
    case 'graph':
      return {
        '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits',
        value: records,
      };
    case 'log-analytics':
      return records;
  }
}

/** Entra writes seven fractional digits: `2026-11-18T09:41:27.1234567Z`. */
function entraTime(milliseconds: number, random: SeededRandom): string {
  const iso = new Date(milliseconds).toISOString();

  return `${iso.slice(0, 23)}${String(random.integer(0, 9999)).padStart(4, '0')}Z`;
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
