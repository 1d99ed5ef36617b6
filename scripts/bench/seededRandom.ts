/**
 * A small deterministic generator (mulberry32), so that a seed gives the same corpus on every
 * machine and a run can be repeated exactly. Not for anything that needs real randomness.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let mixed = this.state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);

    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max], both included. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) {
      throw new Error('cannot pick from an empty list');
    }

    return item;
  }

  /** A version-4-shaped GUID in lower case, as Entra writes object ids. */
  guid(): string {
    const hex = (digits: number): string => {
      let text = '';
      for (let index = 0; index < digits; index += 1) {
        text += Math.floor(this.next() * 16).toString(16);
      }

      return text;
    };
    const variant = (8 + Math.floor(this.next() * 4)).toString(16);

    return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
  }

  /** Upper-case letters and digits, like the random part of an audit record id. */
  token(length: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let text = '';
    for (let index = 0; index < length; index += 1) {
      text += alphabet[Math.floor(this.next() * alphabet.length)] ?? 'X';
    }

    return text;
  }
}
