import { parseArgs } from 'node:util';

import {
  buildSyntheticInvitation,
  SYNTHETIC_INVITEE_EMAIL,
  SYNTHETIC_INVITER_UPN,
  type SyntheticInvitationBody,
} from '../syntheticInvitation';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand } from './cliIo';

/** Where a synthetic invitation goes: an event hub in a namespace, by host name. */
export interface EventHubTarget {
  fullyQualifiedNamespace: string;
  eventHubName: string;
}

/** Sends one message body; the real one uses Event Hubs, tests pass a fake. */
export type InvitationSender = (
  target: EventHubTarget,
  body: SyntheticInvitationBody,
) => Promise<void>;

const USAGE = `Usage: npm run cli -- send-test-event [options]

Sends one synthetic "Invite external user" audit record, clearly marked as a test, to the
deployed audit event hub, signed in as you (DefaultAzureCredential: az login, environment or
managed identity). You need Azure Event Hubs Data Sender on the hub.

Options:
  --namespace <host>   Event Hubs namespace host, e.g. evhns-dev-x.servicebus.windows.net
                       (default: $AuditEventHub__fullyQualifiedNamespace)
  --hub <name>         event hub name (default: $AUDIT_EVENTHUB_NAME)
  --tenant-id <guid>   tenant id to put in the record (default: all zeros)
  --inviter <upn>      inviter UPN (default: ${SYNTHETIC_INVITER_UPN})
  --invitee <email>    invited guest's email (default: ${SYNTHETIC_INVITEE_EMAIL})
  --dry-run            print the message body to standard output and send nothing
  -h, --help           show this help
`;

const HOST_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
// Event hub names: letters, digits, '.', '-', '_', starting and ending with a letter or digit.
const EVENT_HUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What the invitation should say; undefined fields take the synthetic defaults. */
interface InvitationChoices {
  tenantId: string | undefined;
  inviterUpn: string | undefined;
  inviteeEmail: string | undefined;
}

type SendTestEventRequest =
  | { kind: 'help' }
  | { kind: 'dry-run'; choices: InvitationChoices }
  | { kind: 'send'; choices: InvitationChoices; target: EventHubTarget };

export function createSendTestEventCommand(send: InvitationSender): CliCommand {
  return async (args, io) => {
    let request: SendTestEventRequest;
    try {
      request = readRequest(args, io.env);
    } catch (error) {
      if (!(error instanceof UsageError)) {
        throw error;
      }
      io.stderr.write(`send-test-event: ${error.message}\n\n${USAGE}`);

      return EXIT_USAGE;
    }

    if (request.kind === 'help') {
      io.stderr.write(USAGE);

      return EXIT_OK;
    }

    const body = buildSyntheticInvitation(request.choices);
    const summary = describeInvitation(body);

    if (request.kind === 'dry-run') {
      io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      io.stderr.write(`Dry run: built ${summary}; nothing was sent.\n`);

      return EXIT_OK;
    }

    const { fullyQualifiedNamespace, eventHubName } = request.target;
    try {
      await send(request.target, body);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      io.stderr.write(
        `send-test-event: could not send to event hub "${eventHubName}" on ` +
          `${fullyQualifiedNamespace}: ${reason}\n` +
          'Check the namespace and hub names, that you are signed in (az login), and that you ' +
          'hold Azure Event Hubs Data Sender on the hub.\n',
      );

      return EXIT_FAILURE;
    }

    io.stderr.write(
      `Sent ${summary} to event hub "${eventHubName}" on ${fullyQualifiedNamespace}.\n`,
    );

    return EXIT_OK;
  };
}

function describeInvitation(body: SyntheticInvitationBody): string {
  const { properties } = body.records[0];
  const invitee = properties.additionalDetails.find(
    (detail) => detail.key === 'invitedUserEmailAddress',
  );

  return (
    `synthetic invitation ${properties.id} ` +
    `(inviter ${properties.initiatedBy.user.userPrincipalName}, invitee ${invitee?.value ?? '?'})`
  );
}

/** Sends with the Event Hubs SDK as the signed-in operator; loaded only when sending. */
export const sendWithEventHubs: InvitationSender = async (target, body) => {
  const { EventHubProducerClient } = await import('@azure/event-hubs');
  const { DefaultAzureCredential } = await import('@azure/identity');

  const producer = new EventHubProducerClient(
    target.fullyQualifiedNamespace,
    target.eventHubName,
    new DefaultAzureCredential(),
  );
  try {
    // UTF-8 JSON bytes, as Entra diagnostic settings send them.
    await producer.sendBatch([
      { body: Buffer.from(JSON.stringify(body), 'utf8'), contentType: 'application/json' },
    ]);
  } finally {
    await producer.close();
  }
};

export const sendTestEventCommand: CliCommand = createSendTestEventCommand(sendWithEventHubs);

/** Reads and checks the command line, falling back to the app settings' names in the environment. */
function readRequest(args: string[], env: NodeJS.ProcessEnv): SendTestEventRequest {
  let values: ReturnType<typeof parseCommandLine>['values'];
  try {
    values = parseCommandLine(args).values;
  } catch (error) {
    // parseArgs reports unknown options, missing values and stray arguments as TypeErrors.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }

  if (values.help === true) {
    return { kind: 'help' };
  }

  const choices: InvitationChoices = {
    tenantId: checked(values['tenant-id'], '--tenant-id', GUID, 'a GUID'),
    inviterUpn: checked(values.inviter, '--inviter', ADDRESS, 'a UPN such as name@contoso.example'),
    inviteeEmail: checked(values.invitee, '--invitee', ADDRESS, 'an email address'),
  };
  if (values['dry-run'] === true) {
    return { kind: 'dry-run', choices };
  }

  const namespace = values.namespace ?? nonEmpty(env.AuditEventHub__fullyQualifiedNamespace);
  if (namespace === undefined) {
    throw new UsageError(
      'missing --namespace: pass the Event Hubs namespace host name ' +
        '(the AZURE_EVENTHUB_NAMESPACE_HOST output of the deployment), ' +
        'or set AuditEventHub__fullyQualifiedNamespace',
    );
  }
  if (!HOST_NAME.test(namespace)) {
    throw new UsageError(
      `--namespace "${namespace}" is not a host name: pass it without scheme, port or path, ` +
        'e.g. evhns-dev-x.servicebus.windows.net',
    );
  }

  const hub = values.hub ?? nonEmpty(env.AUDIT_EVENTHUB_NAME);
  if (hub === undefined) {
    throw new UsageError(
      'missing --hub: pass the audit event hub name (the AZURE_EVENTHUB_NAME output), ' +
        'or set AUDIT_EVENTHUB_NAME',
    );
  }
  if (!EVENT_HUB_NAME.test(hub)) {
    throw new UsageError(
      `--hub "${hub}" is not an event hub name: use letters, digits, '.', '-' and '_', ` +
        'starting and ending with a letter or digit',
    );
  }

  return {
    kind: 'send',
    choices,
    target: { fullyQualifiedNamespace: namespace, eventHubName: hub },
  };
}

function parseCommandLine(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      namespace: { type: 'string' },
      hub: { type: 'string' },
      'tenant-id': { type: 'string' },
      inviter: { type: 'string' },
      invitee: { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function checked(
  value: string | undefined,
  option: string,
  pattern: RegExp,
  expected: string,
): string | undefined {
  if (value !== undefined && !pattern.test(value)) {
    throw new UsageError(`${option} "${value}" is not ${expected}`);
  }

  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
