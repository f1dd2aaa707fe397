/**
 * The local Discord limits message creation per channel by default, as Discord does (5 per 5 s per
 * channel; 429 with `retry_after` and the X-RateLimit headers), each channel with its own bucket; the
 * real discord.js copes by itself (it waits by the headers and retries a 429), so every message
 * arrives, in order. Only a run whose point is a flood turns the limit off.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { TextChannel } from 'discord.js';
import { startDiscordSimulator, trustSimulatorCertificate, type DiscordSimulator } from '../../../sim/discord/index.ts';
import { startHarness, type Harness } from './helpers.ts';

async function post(sim: DiscordSimulator, channelId: string, content: string): Promise<Response> {
  return fetch(`${sim.rest}/v10/channels/${channelId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bot ${sim.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content }),
  });
}

describe('per-channel message rate limit of the local Discord', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('is on by default: a sixth message in 5 s in one channel gets 429 with retry_after; another channel is not affected', async () => {
    trustSimulatorCertificate();
    const sim = await startDiscordSimulator();
    closers.push(() => sim.close());
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(sim, sim.textChannelId, `message ${i}`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const refused = await post(sim, sim.textChannelId, 'one more');
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { message: string; retry_after: number; global: boolean };
    assert.equal(body.global, false);
    assert.ok(body.retry_after > 0 && body.retry_after <= 5, `retry_after in seconds: ${body.retry_after}`);
    assert.equal(refused.headers.get('x-ratelimit-remaining'), '0');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(sim.recorded.rateLimited.length, 2);
    const other = sim.addTextChannel('other');
    assert.equal((await post(sim, other, 'elsewhere')).status, 200, 'each channel has its own bucket');
  });

  it('turned off (a flood is the point of the run): no 429', async () => {
    const sim = await startDiscordSimulator({ messageRateLimit: false });
    closers.push(() => sim.close());
    for (let i = 0; i < 8; i++) assert.equal((await post(sim, sim.textChannelId, `message ${i}`)).status, 200);
    assert.equal(sim.recorded.rateLimited.length, 0);
  });

  it('discord.js copes by itself: seven messages sent at once all arrive, in order', async () => {
    const harness: Harness = await startHarness();
    closers.push(() => harness.close());
    const channel = harness.client.channels.cache.get(harness.sim.textChannelId) as TextChannel;
    const sent = await Promise.all(Array.from({ length: 7 }, (_, i) => channel.send(`burst ${i}`)));
    assert.deepEqual(sent.map((message) => message.content), Array.from({ length: 7 }, (_, i) => `burst ${i}`));
    const created = harness.sim.recorded.messages.filter((entry) => entry.method === 'POST' && entry.path.endsWith(`/channels/${harness.sim.textChannelId}/messages`));
    assert.equal(created.length - harness.sim.recorded.rateLimited.length, 7, 'each message created once');
  });
});
