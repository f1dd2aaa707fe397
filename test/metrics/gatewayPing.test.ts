import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from 'discord.js';
import { gatewayPingMs } from '../../src/metrics/gatewayPing.ts';

/** What gatewayPingMs reads of a discord.js client: its shards and their last heartbeat round trip. */
const clientWith = (...pings: number[]) => ({ ws: { shards: new Map(pings.map((ping, id) => [id, { ping }])) } }) as unknown as Pick<Client, 'ws'>;

test('null before login and before the first heartbeat is acknowledged (discord.js reports NaN, then -1)', () => {
  assert.equal(gatewayPingMs(clientWith()), null);
  assert.equal(gatewayPingMs(clientWith(-1)), null);
  assert.equal(gatewayPingMs(clientWith(Number.NaN)), null);
});

test('the average of the shards that have a round trip; one still connecting does not pull it down', () => {
  assert.equal(gatewayPingMs(clientWith(42)), 42);
  assert.equal(gatewayPingMs(clientWith(40, -1)), 40);
  assert.equal(gatewayPingMs(clientWith(40, 60, -1)), 50);
});
