import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { pipeScript, RedisPipe } from './redis-pipe.ts';

const REDIS_URL = process.env.REDIS_URL;
const ECHO = pipeScript("redis.call('SET', KEYS[1], ARGV[1]) return {tonumber(ARGV[2]) or 0, #ARGV}");

/** A TCP server that records what it reads and answers only what `reply` returns. */
async function fakeRedis(reply: (data: string, socket: Socket) => string | null): Promise<{ server: Server; url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((socket) => {
    socket.on('data', (d) => {
      received.push(d.toString());
      const out = reply(d.toString(), socket);
      if (out !== null) socket.write(out);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

describe('redis pipe, without Redis', () => {
  it('fails a command Redis never answers within the timeout, drops that connection, and reconnects for the next one', async () => {
    let connections = 0;
    const fake = await fakeRedis(() => null);
    fake.server.on('connection', () => connections++);
    servers.push(fake.server);
    const pipe = new RedisPipe({ url: fake.url, timeoutMs: 150, scripts: [] });
    const t0 = Date.now();
    await expect(pipe.evalsha(ECHO, ['k'], ['v'])).rejects.toThrow(/did not answer within 150 ms/);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 250));
    await expect(pipe.evalsha(ECHO, ['k'], ['v'])).rejects.toThrow(/did not answer/);
    expect(connections).toBe(2);
    await pipe.close();
  });

  it('fails what is in flight when the connection drops and never sends it again', async () => {
    const fake = await fakeRedis((_data, socket) => {
      socket.destroy();
      return null;
    });
    servers.push(fake.server);
    const pipe = new RedisPipe({ url: fake.url, timeoutMs: 2_000, scripts: [] });
    const results = await Promise.allSettled([pipe.evalsha(ECHO, ['a'], ['1']), pipe.evalsha(ECHO, ['b'], ['2'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const evalshas = fake.received.join('').split('EVALSHA').length - 1;
    expect(evalshas).toBe(2);
    await pipe.close();
  });

  it('sends AUTH with user and password and SELECT before anything else, and drops the connection when AUTH fails', async () => {
    const fake = await fakeRedis((data) => (data.includes('AUTH') ? '-WRONGPASS invalid username-password pair\r\n' : null));
    servers.push(fake.server);
    const pipe = new RedisPipe({ url: fake.url.replace('redis://', 'redis://ops:s%40cret@') + '/4', timeoutMs: 1_000, scripts: [] });
    await expect(pipe.evalsha(ECHO, ['k'], ['v'])).rejects.toThrow(/WRONGPASS/);
    const first = fake.received.join('');
    expect(first.indexOf('AUTH')).toBeLessThan(first.indexOf('SELECT'));
    expect(first.indexOf('SELECT')).toBeLessThan(first.indexOf('EVALSHA'));
    expect(first).toContain('$3\r\nops\r\n$6\r\ns@cret\r\n');
    await pipe.close();
  });

  it('refuses at once after close', async () => {
    const pipe = new RedisPipe({ url: 'redis://127.0.0.1:1', timeoutMs: 100, scripts: [] });
    await pipe.close();
    await expect(pipe.evalsha(ECHO, [], [])).rejects.toThrow(/closed/);
  });
});

describe.skipIf(!REDIS_URL)('redis pipe, on Redis', () => {
  const key = `sluice:test:pipe:${randomBytes(6).toString('hex')}`;

  it('answers pipelined commands in order, in the database the URL names', async () => {
    const pipe = new RedisPipe({ url: `${REDIS_URL!.replace(/\/\d*$/, '')}/3`, timeoutMs: 2_000, scripts: [ECHO] });
    const inspect = new Redis(REDIS_URL!, { db: 3 });
    try {
      const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => pipe.evalsha(ECHO, [key], [`v${i}`, i])));
      expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => [i, 2]));
      expect(await inspect.get(key)).toBe('v49');
    } finally {
      await inspect.del(key);
      inspect.disconnect();
      await pipe.close();
    }
  });

  it('close waits for the answers of what is in flight', async () => {
    const pipe = new RedisPipe({ url: REDIS_URL!, timeoutMs: 2_000, scripts: [ECHO] });
    const inFlight = Array.from({ length: 20 }, (_, i) => pipe.evalsha(ECHO, [key], [`c${i}`, i]));
    await pipe.close();
    expect(await Promise.all(inFlight)).toHaveLength(20);
    await expect(pipe.evalsha(ECHO, [key], ['late'])).rejects.toThrow(/closed/);
    const inspect = new Redis(REDIS_URL!);
    await inspect.del(key);
    inspect.disconnect();
  });

  it('runs a script Redis has forgotten by sending it whole, once', async () => {
    const forgotten = pipeScript(`return '${randomBytes(8).toString('hex')}'`);
    const pipe = new RedisPipe({ url: REDIS_URL!, timeoutMs: 2_000, scripts: [] });
    try {
      const reply = await pipe.evalsha(forgotten, [], []);
      expect(reply).toBe(forgotten.lua.slice(8, -1));
    } finally {
      await pipe.close();
    }
  });
});
