import { afterEach, describe, expect, it, vi } from 'vitest';
import { SingleFlight } from './single-flight.ts';

/** A promise with its resolvers, for a leader that finishes when the test says so. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('N concurrent identical calls make one upstream call and all get its value', async () => {
    const flights = new SingleFlight<string>();
    const upstream = deferred<string>();
    let calls = 0;
    const fn = () => {
      calls++;
      return upstream.promise;
    };
    const runs = Array.from({ length: 20 }, () => flights.run('k', fn));
    upstream.resolve('answer');
    const results = await Promise.all(runs);
    expect(calls).toBe(1);
    expect(results.map((r) => r.value)).toEqual(Array(20).fill('answer'));
    expect(results.filter((r) => r.role === 'leader')).toHaveLength(1);
    expect(flights.inFlight).toBe(0);
    expect(flights.stats()).toMatchObject({ leaders: 1, followers: 19 });
  });

  it('different keys do not wait on each other', async () => {
    const flights = new SingleFlight<string>();
    const [a, b] = await Promise.all([flights.run('a', async () => 'A'), flights.run('b', async () => 'B')]);
    expect([a.role, a.value, b.role, b.value]).toEqual(['leader', 'A', 'leader', 'B']);
  });

  it('a failed leader throws only to itself; followers each proceed on their own', async () => {
    const flights = new SingleFlight<string>();
    const upstream = deferred<string>();
    let calls = 0;
    const leader = flights.run('k', () => {
      calls++;
      return upstream.promise;
    });
    const followers = [1, 2, 3].map(() =>
      flights.run('k', async () => {
        calls++;
        return 'own';
      }),
    );
    upstream.reject(new Error('upstream 500'));
    await expect(leader).rejects.toThrow('upstream 500');
    const results = await Promise.all(followers);
    expect(results).toEqual(Array(3).fill({ role: 'alone', value: 'own' }));
    expect(calls).toBe(4);
  });

  it('join/resolve fits a stream leader that completes later; undefined sends followers off alone', async () => {
    const flights = new SingleFlight<{ body: string }>();
    const leader = flights.join('k');
    const follower = flights.join('k');
    expect(leader.role).toBe('leader');
    expect(follower.role).toBe('follower');
    if (leader.role !== 'leader' || follower.role !== 'follower') return;
    const value = { body: 'done' };
    setTimeout(() => leader.resolve(value), 5);
    expect(await follower.wait).toBe(value);
    leader.resolve({ body: 'again' }); // idempotent

    const second = flights.join('k');
    const secondFollower = flights.join('k');
    expect(second.role).toBe('leader');
    if (second.role !== 'leader' || secondFollower.role !== 'follower') return;
    second.fail();
    expect(await secondFollower.wait).toBeUndefined();
    expect(flights.inFlight).toBe(0);
  });

  it('a leader that never finishes releases its followers after the timeout and frees the key', async () => {
    vi.useFakeTimers();
    const flights = new SingleFlight<string>({ timeoutMs: 1000 });
    const stuck = flights.join('k');
    const follower = flights.join('k');
    if (follower.role !== 'follower') throw new Error('expected a follower');
    let settled: string | undefined | null = null;
    void follower.wait.then((v) => (settled = v));
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBeUndefined();
    expect(flights.stats().timeouts).toBe(1);
    // The key is free: the next request leads, and the stuck leader's late result touches nothing.
    const next = flights.join('k');
    expect(next.role).toBe('leader');
    if (stuck.role === 'leader') stuck.resolve('late');
    expect(flights.inFlight).toBe(1);
    const nextFollower = flights.join('k');
    if (next.role !== 'leader' || nextFollower.role !== 'follower') throw new Error('roles');
    next.resolve('fresh');
    expect(await nextFollower.wait).toBe('fresh');
  });
});
