export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses attempts before one trial is let through. */
  cooldownMs: number;
  clock?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

interface Circuit {
  failures: number;
  openedAt: number | undefined;
  /** When the half-open trial was let through; a trial never reported lapses after a cooldown. */
  trialStartedAt: number | undefined;
}

/**
 * One circuit per destination, held by one instance. After `failureThreshold` failed
 * deliveries in a row the destination is skipped for `cooldownMs`; then a single trial goes
 * through, and its outcome closes the circuit or opens it for another cooldown. Skipped
 * alerts are not lost: they wait in the outbox for a later redelivery.
 */
export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();
  private readonly clock: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Whether a delivery to `key` may be tried now. In the half-open state only the first
   * caller gets true; it must report back with recordSuccess or recordFailure.
   */
  tryAcquire(key: string): boolean {
    const circuit = this.circuits.get(key);
    if (circuit?.openedAt === undefined) {
      return true;
    }

    const now = this.clock();
    if (now - circuit.openedAt < this.options.cooldownMs || this.trialPending(circuit, now)) {
      return false;
    }
    circuit.trialStartedAt = now;

    return true;
  }

  recordSuccess(key: string): void {
    this.circuits.delete(key);
  }

  recordFailure(key: string): void {
    const circuit = this.circuits.get(key) ?? {
      failures: 0,
      openedAt: undefined,
      trialStartedAt: undefined,
    };
    circuit.failures += 1;
    if (circuit.trialStartedAt !== undefined || circuit.failures >= this.options.failureThreshold) {
      circuit.openedAt = this.clock();
    }
    circuit.trialStartedAt = undefined;
    this.circuits.set(key, circuit);
  }

  /**
   * Gives back what tryAcquire granted when nothing was sent after all (the caller was
   * turned away by pacing or by its time budget): a half-open trial goes to the next caller.
   */
  release(key: string): void {
    const circuit = this.circuits.get(key);
    if (circuit !== undefined) {
      circuit.trialStartedAt = undefined;
    }
  }

  state(key: string): CircuitState {
    const circuit = this.circuits.get(key);
    if (circuit?.openedAt === undefined) {
      return 'closed';
    }

    return this.clock() - circuit.openedAt >= this.options.cooldownMs ? 'half-open' : 'open';
  }

  /** When an open circuit lets a trial through again; undefined when it is not open. */
  retryAt(key: string): number | undefined {
    const openedAt = this.circuits.get(key)?.openedAt;

    return openedAt === undefined ? undefined : openedAt + this.options.cooldownMs;
  }

  private trialPending(circuit: Circuit, now: number): boolean {
    return (
      circuit.trialStartedAt !== undefined && now - circuit.trialStartedAt < this.options.cooldownMs
    );
  }
}
