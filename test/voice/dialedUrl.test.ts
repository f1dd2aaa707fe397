/**
 * The URL the bot actually dials, for each way of configuring the model service: the bot's own path
 * (configuration → GuildConversation → RealtimeClient → ws) runs unchanged; only the TCP connection is
 * routed to a local simulator, which records the upgrade request (Host header, path and query) and,
 * like the real service, refuses one without a model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NetConnectOpts } from 'node:net';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { createStore, defaultSettings, type BotStore } from '../../src/store/index.ts';
import { GuildConversation } from '../../src/voice/guildConversation.ts';
import { startRealtimeSimulator, type RealtimeSimulator } from '../../sim/realtime/index.ts';

let sim: RealtimeSimulator;
let store: BotStore;
before(async () => {
  sim = await startRealtimeSimulator({ apiKey: 'k' });
  store = createStore({ databasePath: ':memory:', logger: silentLogger });
});
after(async () => {
  await store.close();
  await sim.close();
});

/** Where ws tried to connect, and what the service saw. */
interface Dial {
  host: string;
  port: number;
  /** Host header and request target received by the service. */
  hostHeader: string;
  path: string;
  dialect: string;
}

async function dial(env: Record<string, string>): Promise<Dial> {
  const config = loadConfig({ REALTIME_API_KEY: 'k', ...env });
  const dialed: { host: string; port: number }[] = [];
  const conversation = new GuildConversation({
    guildId: '1',
    config,
    store,
    settings: defaultSettings(),
    logger: silentLogger,
    mode: 'text',
    // Whatever the host (api.openai.com…), the TCP connection goes to the simulator (plain TCP even
    // for wss:, which is fine for a request that only needs its Host header and target).
    createConnection: ((options: NetConnectOpts & { host: string; port: number }) => {
      dialed.push({ host: options.host, port: Number(options.port) });
      return connect({ host: '127.0.0.1', port: sim.port });
    }) as never,
  });
  try {
    await conversation.start();
  } finally {
    await conversation.close();
  }
  const upgrade = sim.upgrades.at(-1)!;
  assert.equal(upgrade.status, 101);
  assert.equal(dialed.length, 1);
  return { ...dialed[0]!, hostHeader: upgrade.host, path: upgrade.path, dialect: sim.sessions.at(-1)!.dialect };
}

test('openai preset: wss://api.openai.com/v1/realtime?model=gpt-realtime (GA)', async () => {
  assert.deepEqual(await dial({}), { host: 'api.openai.com', port: 443, hostHeader: 'api.openai.com', path: '/v1/realtime?model=gpt-realtime', dialect: 'ga' });
  const mini = await dial({ REALTIME_PROVIDER: 'openai', REALTIME_MODEL: 'gpt-realtime-mini' });
  assert.equal(mini.path, '/v1/realtime?model=gpt-realtime-mini');
});

test('cometapi preset: wss://api.cometapi.com/v1/realtime?model=gpt-4o-realtime (beta header)', async () => {
  assert.deepEqual(await dial({ REALTIME_PROVIDER: 'cometapi' }), {
    host: 'api.cometapi.com',
    port: 443,
    hostHeader: 'api.cometapi.com',
    path: '/v1/realtime?model=gpt-4o-realtime',
    dialect: 'beta',
  });
});

test('REALTIME_URL without a model plus REALTIME_MODEL: the model is added to the query', async () => {
  const result = await dial({ REALTIME_URL: 'ws://gateway.example:8080/v1/realtime', REALTIME_MODEL: 'gpt-realtime-2', REALTIME_DIALECT: 'ga' });
  assert.deepEqual(result, { host: 'gateway.example', port: 8080, hostHeader: 'gateway.example:8080', path: '/v1/realtime?model=gpt-realtime-2', dialect: 'ga' });
});

test('REALTIME_URL that already has ?model= or other query parameters', async () => {
  const withModel = await dial({ REALTIME_URL: 'wss://gateway.example/v1/realtime?model=gpt-realtime-2.1&tenant=a%2Fb' });
  assert.equal(withModel.path, '/v1/realtime?model=gpt-realtime-2.1&tenant=a%2Fb');
  const withQuery = await dial({ REALTIME_URL: 'wss://gateway.example/v1/realtime?api-version=2025-08-28&tenant=a%2Fb', REALTIME_MODEL: 'team model/1' });
  assert.equal(withQuery.path, '/v1/realtime?api-version=2025-08-28&tenant=a%2Fb&model=team%20model%2F1');
  assert.equal(sim.sessions.at(-1)!.model, 'team model/1');
});
