import type { AllowlistEntry } from '../../lib/allowlistEntry';
import { decodeEventBody, elementsOf, type LocatedElement } from '../../lib/auditInput';
import { CachedAllowlist } from '../../lib/cachedAllowlist';
import { detectInvitations } from '../../lib/detectInvitations';
import type { CorpusMessage } from './auditCorpus';
import { collectGarbage, cpuMilliseconds, median } from './benchStatistics';

export interface ThroughputResult {
  messages: number;
  records: number;
  invitations: number;
  megabytes: number;
  repetitions: number;
  /** `JSON.parse` alone, per CPU second and per wall-clock second (medians). */
  floor: Rate;
  /** Parse, normalise and evaluate the rule with a warm allowlist cache (medians). */
  pipeline: Rate;
  /** Median over alternating pairs of floor CPU time / pipeline CPU time. */
  throughputRatio: number;
  /** The same ratio from wall-clock times, for comparison. */
  wallRatio: number;
  /** Documents the floor parsed and invitations the pipeline found per pass: checks. */
  documentsPerPass: number;
  invitationsPerPass: number;
}

export interface Rate {
  recordsPerCpuSecond: number;
  megabytesPerCpuSecond: number;
  recordsPerSecond: number;
}

/** The host hands over at most this many messages per invocation (maxEventBatchSize). */
const MESSAGES_PER_BATCH = 100;

/**
 * Times `JSON.parse` alone against the whole detection pipeline over the same message bodies.
 * Passes alternate (and swap order each time) so that drift in the machine's speed falls on
 * both alike; the ratio is taken per pair, from CPU time, which waiting for a shared core does
 * not inflate.
 */
export async function measureThroughput(
  messages: CorpusMessage[],
  entries: AllowlistEntry[],
  options: { repetitions: number; warmups: number },
): Promise<ThroughputResult> {
  const bodies = messages.map((message) => message.body);
  const records = messages.reduce((sum, message) => sum + message.records, 0);
  const megabytes = bodies.reduce((sum, body) => sum + body.length, 0) / 1e6;
  const allowlist = new CachedAllowlist({ readAll: () => Promise.resolve(entries) }, 3_600_000);
  await allowlist.get();
  const now = new Date();

  let documentsPerPass = 0;
  let invitationsPerPass = 0;
  const runPipeline = async (): Promise<void> => {
    invitationsPerPass = await pipelinePass(bodies, allowlist, now);
  };
  const runFloor = (): Promise<void> => {
    documentsPerPass = parsePass(bodies);

    return Promise.resolve();
  };

  for (let warmup = 0; warmup < options.warmups; warmup += 1) {
    await runFloor();
    await runPipeline();
  }

  const floorTimes: Timing[] = [];
  const pipelineTimes: Timing[] = [];
  for (let repetition = 0; repetition < options.repetitions; repetition += 1) {
    if (repetition % 2 === 0) {
      floorTimes.push(await timed(runFloor));
      pipelineTimes.push(await timed(runPipeline));
    } else {
      pipelineTimes.push(await timed(runPipeline));
      floorTimes.push(await timed(runFloor));
    }
  }

  const rate = (times: Timing[]): Rate => {
    const cpuSeconds = median(times.map((time) => time.cpuMs)) / 1000;
    const wallSeconds = median(times.map((time) => time.wallMs)) / 1000;

    return {
      recordsPerCpuSecond: records / cpuSeconds,
      megabytesPerCpuSecond: megabytes / cpuSeconds,
      recordsPerSecond: records / wallSeconds,
    };
  };

  return {
    messages: bodies.length,
    records,
    invitations: messages.reduce((sum, message) => sum + message.invitations, 0),
    megabytes,
    repetitions: options.repetitions,
    floor: rate(floorTimes),
    pipeline: rate(pipelineTimes),
    throughputRatio: median(
      floorTimes.map((floor, index) => floor.cpuMs / (pipelineTimes[index]?.cpuMs ?? NaN)),
    ),
    wallRatio: median(
      floorTimes.map((floor, index) => floor.wallMs / (pipelineTimes[index]?.wallMs ?? NaN)),
    ),
    documentsPerPass,
    invitationsPerPass,
  };
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function timed(pass: () => Promise<void>): Promise<Timing> {
  collectGarbage();
  const wallStart = performance.now();
  const cpuStart = cpuMilliseconds();
  await pass();

  return { wallMs: performance.now() - wallStart, cpuMs: cpuMilliseconds() - cpuStart };
}

/** Counts what it parsed, so the result of each parse is used. */
function parsePass(bodies: string[]): number {
  let documents = 0;
  for (const body of bodies) {
    const document: unknown = JSON.parse(body);
    documents += document === null ? 0 : 1;
  }

  return documents;
}

/** As the Event Hub handler does it: decode each body, flatten, detect, per host batch. */
async function pipelinePass(
  bodies: string[],
  allowlist: CachedAllowlist,
  now: Date,
): Promise<number> {
  let invitations = 0;
  for (let start = 0; start < bodies.length; start += MESSAGES_PER_BATCH) {
    const result = await detectInvitations(
      flatten(bodies, start, Math.min(bodies.length, start + MESSAGES_PER_BATCH)),
      allowlist,
      now,
    );
    invitations += result.summary.invitations;
  }

  return invitations;
}

function* flatten(bodies: string[], start: number, end: number): Generator<LocatedElement> {
  for (let index = start; index < end; index += 1) {
    yield* elementsOf(decodeEventBody(bodies[index]), `message ${index - start}`);
  }
}
