import { StaticAllowlist } from '../lib/cachedAllowlist';
import { detectInvitations } from '../lib/detectInvitations';
import { sampleRecords } from './support/fixtures';

const now = new Date('2026-11-18T11:00:00Z');

describe('detectInvitations', () => {
  it('raises one alert for a record read twice, in one call or across calls that share their alert ids', async () => {
    const invitation = sampleRecords()[3];
    const alerted = new Set<string>();
    const twice = [
      { where: 'message 0, record 0', element: invitation },
      { where: 'message 1, record 0', element: invitation },
    ];

    const first = await detectInvitations(twice, new StaticAllowlist([]), now, alerted);
    const again = await detectInvitations(twice.slice(0, 1), new StaticAllowlist([]), now, alerted);
    const apart = await detectInvitations(twice.slice(0, 1), new StaticAllowlist([]), now);

    expect([first.alerts.length, first.repeated, first.summary.alerts]).toEqual([1, 1, 1]);
    expect([again.alerts.length, again.repeated, again.summary.alerts]).toEqual([0, 1, 0]);
    expect([apart.alerts.length, apart.repeated]).toEqual([1, 0]);
    expect([...alerted]).toEqual([first.alerts[0]?.alertId]);
  });
});
