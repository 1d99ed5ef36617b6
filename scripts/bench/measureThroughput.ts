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
 * Each pass takes the corpus a host batch (100 messages) at a time and runs the floor and the
 * pipeline on that batch back to back, swapping their order each time, so that the two are
 * timed over the same moments: on a shared machine whose speed drifts by tens of per cent
 * between seconds, whole passes timed one after the other disagreed by more than the cost being
 * measured. Times are CPU time, which waiting for a shared core does not inflate; a pass's
 * ratio is its floor total over its pipeline total.
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
  const batches: string[][] = [];
  for (let start = 0; start < bodies.length; start += MESSAGES_PER_BATCH) {
    batches.push(bodies.slice(start, start + MESSAGES_PER_BATCH));
  }

  let documentsPerPass = 0;
  let invitationsPerPass = 0;
  const pass = async (): Promise<{ floor: Timing; pipeline: Timing }> => {
    const floor: Timing = { wallMs: 0, cpuMs: 0 };
    const pipeline: Timing = { wallMs: 0, cpuMs: 0 };
    documentsPerPass = 0;
    invitationsPerPass = 0;
    collectGarbage();
    for (let index = 0; index < batches.length; index += 1) {
      const batch = batches[index] ?? [];
      const runFloor = (): Promise<void> => {
        documentsPerPass += parsePass(batch);

        return Promise.resolve();
      };
      const runPipeline = async (): Promise<void> => {
        invitationsPerPass += await pipelineBatch(batch, allowlist, now);
      };
      if (index % 2 === 0) {
        add(floor, await timed(runFloor));
        add(pipeline, await timed(runPipeline));
      } else {
        add(pipeline, await timed(runPipeline));
        add(floor, await timed(runFloor));
      }
    }

    return { floor, pipeline };
  };

  for (let warmup = 0; warmup < options.warmups; warmup += 1) {
    await pass();
  }

  const floorTimes: Timing[] = [];
  const pipelineTimes: Timing[] = [];
  for (let repetition = 0; repetition < options.repetitions; repetition += 1) {
    const { floor, pipeline } = await pass();
    floorTimes.push(floor);
    pipelineTimes.push(pipeline);
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

function add(total: Timing, part: Timing): void {
  total.wallMs += part.wallMs;
  total.cpuMs += part.cpuMs;
}

async function timed(pass: () => Promise<void>): Promise<Timing> {
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

/** As the Event Hub handler does it with one host batch: decode each body, flatten, detect. */
async function pipelineBatch(
  bodies: string[],
  allowlist: CachedAllowlist,
  now: Date,
): Promise<number> {
  const result = await detectInvitations(flatten(bodies), allowlist, now);

  return result.summary.invitations;
}

function* flatten(bodies: string[]): Generator<LocatedElement> {
  for (let index = 0; index < bodies.length; index += 1) {
    yield* elementsOf(decodeEventBody(bodies[index]), `message ${index}`, index);
  }
}
