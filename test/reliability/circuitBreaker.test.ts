import { CircuitBreaker } from '../../lib/circuitBreaker';

describe('the circuit breaker', () => {
  function breaker() {
    const clock = { now: 0 };
    const circuit = new CircuitBreaker({
      failureThreshold: 3,
      cooldownMs: 60_000,
      clock: () => clock.now,
    });

    return { clock, circuit };
  }

  it('stays closed until the threshold of failures in a row, then refuses attempts', () => {
    const { circuit } = breaker();

    circuit.recordFailure('teams-1');
    circuit.recordFailure('teams-1');
    expect(circuit.tryAcquire('teams-1')).toBe(true);
    circuit.recordFailure('teams-1');

    expect(circuit.state('teams-1')).toBe('open');
    expect(circuit.tryAcquire('teams-1')).toBe(false);
    expect(circuit.retryAt('teams-1')).toBe(60_000);
    expect(circuit.tryAcquire('webhook-1')).toBe(true);
  });

  it('forgets failures after a success', () => {
    const { circuit } = breaker();

    circuit.recordFailure('teams-1');
    circuit.recordFailure('teams-1');
    circuit.recordSuccess('teams-1');
    circuit.recordFailure('teams-1');

    expect(circuit.state('teams-1')).toBe('closed');
  });

  it('lets one trial through after the cooldown; its success closes the circuit', () => {
    const { clock, circuit } = breaker();
    [1, 2, 3].forEach(() => circuit.recordFailure('teams-1'));
    clock.now = 60_000;

    expect(circuit.tryAcquire('teams-1')).toBe(true);
    expect(circuit.tryAcquire('teams-1')).toBe(false);
    circuit.recordSuccess('teams-1');

    expect(circuit.state('teams-1')).toBe('closed');
    expect(circuit.tryAcquire('teams-1')).toBe(true);
  });

  it('opens again for a full cooldown when the trial fails', () => {
    const { clock, circuit } = breaker();
    [1, 2, 3].forEach(() => circuit.recordFailure('teams-1'));
    clock.now = 60_000;
    circuit.tryAcquire('teams-1');
    circuit.recordFailure('teams-1');

    clock.now = 119_999;
    expect(circuit.tryAcquire('teams-1')).toBe(false);
    clock.now = 120_000;
    expect(circuit.tryAcquire('teams-1')).toBe(true);
  });

  it('lets another trial through when one was never reported back', () => {
    const { clock, circuit } = breaker();
    [1, 2, 3].forEach(() => circuit.recordFailure('teams-1'));
    clock.now = 60_000;
    circuit.tryAcquire('teams-1');

    clock.now = 119_999;
    expect(circuit.tryAcquire('teams-1')).toBe(false);
    clock.now = 120_000;
    expect(circuit.tryAcquire('teams-1')).toBe(true);
  });
});
