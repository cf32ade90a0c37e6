import { FerryError } from '../../errors.ts';

export interface LoginThrottleOptions {
  /** Failures of one key allowed before any delay. */
  freeFailures: number;
  /** Delay after the first failure beyond the free ones; it doubles with every further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A key is forgotten this long after its last failure. */
  forgetAfterMs: number;
  /** Most keys held at once; beyond it the least recently failed key goes first. */
  maxKeys: number;
  now: () => number;
}

interface Entry {
  failures: number;
  lastFailure: number;
  /** No attempt for this key before this time. */
  blockedUntil: number;
}

/**
 * Exponential backoff on failed sign-ins, per key (the caller's choice: username and address,
 * address alone). A delay, never a lock-out that somebody else can trigger: a key belongs to the
 * address that failed, so an attacker slows only its own attempts. The map is bounded in count
 * (`maxKeys`, least recently failed evicted first) and in time (`forgetAfterMs`); keys are kept
 * only after a failure, and callers bound their length before calling.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly options: LoginThrottleOptions;

  constructor(options: LoginThrottleOptions) {
    this.options = options;
  }

  /** Keys held now (tests and monitoring). */
  get size(): number {
    return this.entries.size;
  }

  /** 429 F1104 (with the seconds to wait) when the key is in its backoff. */
  check(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    const now = this.options.now();
    if (now - entry.lastFailure >= this.options.forgetAfterMs) {
      this.entries.delete(key);
      return;
    }
    if (now < entry.blockedUntil) {
      throw new FerryError('F1104', [Math.max(1, Math.ceil((entry.blockedUntil - now) / 1000))]);
    }
  }

  fail(key: string): void {
    const now = this.options.now();
    const previous = this.entries.get(key);
    const failures =
      previous && now - previous.lastFailure < this.options.forgetAfterMs ? previous.failures + 1 : 1;
    // The failure that uses up the free ones already starts the wait.
    const over = failures - this.options.freeFailures + 1;
    const delay =
      over > 0
        ? Math.min(this.options.baseDelayMs * 2 ** Math.min(over - 1, 30), this.options.maxDelayMs)
        : 0;
    // Re-inserted so that Map order is the order of last failure: eviction takes the stalest key.
    this.entries.delete(key);
    while (this.entries.size >= this.options.maxKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { failures, lastFailure: now, blockedUntil: now + delay });
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }
}

/**
 * The part of a client address the throttle counts by: an IPv4 address whole (also when written
 * IPv4-mapped, `::ffff:203.0.113.7`), an IPv6 address by its /64 prefix, the block a single host
 * or home network is given, so that cycling through one's own addresses earns no fresh attempts.
 */
export function throttleAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!address.includes(':')) return address;
  const [head, tail] = address.split('%', 1)[0].split('::', 2) as [string, string | undefined];
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? front : [...front, ...Array(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((group) => (parseInt(group, 16) || 0).toString(16))
    .join(':')}::/64`;
}
