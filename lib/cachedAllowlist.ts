import { Allowlist } from './allowlist';
import type { AllowlistEntry } from './allowlistEntry';

/** Anything that can read the whole allowlist: the Table store, a file, a fixed list. */
export interface AllowlistSource {
  readAll(): Promise<AllowlistEntry[]>;
}

export interface AllowlistProvider {
  /** The current allowlist; rejects when it cannot be read. */
  get(): Promise<Allowlist>;
}

/**
 * Reads the allowlist at most once per TTL, however many invitations ask, and shares one
 * read between concurrent callers. A failed read is not cached: the next caller tries
 * again, and meanwhile callers treat the allowlist as unavailable (fail safe).
 */
export class CachedAllowlist implements AllowlistProvider {
  /** Reads made so far, for the benchmark and the tests. */
  reads = 0;
  private cached: { allowlist: Allowlist; readAt: number } | undefined;
  private inFlight: Promise<Allowlist> | undefined;

  constructor(
    private readonly source: AllowlistSource,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(): Promise<Allowlist> {
    if (this.cached !== undefined && this.clock() - this.cached.readAt < this.ttlMs) {
      return Promise.resolve(this.cached.allowlist);
    }
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = undefined;
    });

    return this.inFlight;
  }

  /** Forgets the cached copy, so the next get() reads again (after a local change). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async read(): Promise<Allowlist> {
    this.reads += 1;
    const readAt = this.clock();
    const allowlist = new Allowlist(await this.source.readAll());
    this.cached = { allowlist, readAt };

    return allowlist;
  }
}

/** A fixed allowlist (from a file, or none), for the command line and tests. */
export class StaticAllowlist implements AllowlistProvider {
  private readonly allowlist: Allowlist;

  constructor(entries: AllowlistEntry[]) {
    this.allowlist = new Allowlist(entries);
  }

  get(): Promise<Allowlist> {
    return Promise.resolve(this.allowlist);
  }
}
