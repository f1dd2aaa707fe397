import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ConfigError, configSecrets, loadConfig } from '../src/config.ts';
import { loadShardedConfig } from '../src/shardingConfig.ts';

test('defaults: OpenAI GA preset, sensible numbers', () => {
  const config = loadConfig({});
  assert.equal(config.realtime.provider, 'openai');
  assert.equal(config.realtime.dialect, 'ga');
  assert.equal(config.realtime.url, 'wss://api.openai.com/v1/realtime?model=gpt-realtime');
  assert.equal(config.realtime.model, 'gpt-realtime');
  assert.equal(config.sessionRotateMs, 55 * 60_000);
  assert.equal(config.aloneTimeoutMs, 60_000);
  assert.equal(config.metricsPort, 0);
  assert.equal(config.instructionsPermission, 'ManageGuild');
});

test('CometAPI preset selects the beta dialect', () => {
  const config = loadConfig({ REALTIME_PROVIDER: 'cometapi', REALTIME_API_KEY: 'k' });
  assert.equal(config.realtime.dialect, 'beta');
  assert.equal(config.realtime.model, 'gpt-4o-realtime');
  assert.equal(config.realtime.apiKey, 'k');
});

test('a custom URL with a dialect is accepted; OPENAI_API_KEY is a fallback key', () => {
  const config = loadConfig({ REALTIME_URL: 'ws://127.0.0.1:9/v1/realtime', REALTIME_DIALECT: 'beta', OPENAI_API_KEY: 'x' });
  assert.equal(config.realtime.provider, 'custom');
  assert.equal(config.realtime.dialect, 'beta');
  assert.equal(config.realtime.apiKey, 'x');
});

test('every problem is reported at once, one sentence each: field errors do not hide the rest', () => {
  try {
    loadConfig(
      { REALTIME_DIALECT: 'gamma', ALONE_TIMEOUT_SECONDS: 'soon', MENTION_RATE_LIMIT: '0', REALTIME_VOICE: 'robot', DISCORD_GUILD_ID: 'abc' },
      { requireDiscord: true, requireRealtimeKey: true },
    );
    assert.fail('should throw');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const text = error.problems.join('\n');
    assert.match(text, /ALONE_TIMEOUT_SECONDS must be a whole number/);
    assert.match(text, /MENTION_RATE_LIMIT must be a whole number/);
    assert.match(text, /REALTIME_DIALECT must be "ga"/);
    assert.match(text, /REALTIME_VOICE must be one of/);
    assert.match(text, /DISCORD_GUILD_ID must be a numeric Discord id/);
    assert.match(text, /DISCORD_TOKEN is missing/);
    assert.match(text, /REALTIME_API_KEY is missing/);
    assert.equal(error.problems.length, 7, text);
  }
});

test('one mistake of each kind (field, cross-field, unknown provider, permission name, sharding) in one message', () => {
  const env = {
    ALONE_TIMEOUT_SECONDS: 'soon', // a field
    METRICS_PORT: '65534', // with SHARD_COUNT=4, shard 3 would serve metrics on 65537: cross-field
    SHARD_COUNT: '4',
    REALTIME_PROVIDER: 'acme', // unknown provider
    INSTRUCTIONS_PERMISSION: 'ManageServer', // Discord's UI name, not a PermissionFlagsBits name
    SHARD_RESPAWN: 'sometimes', // sharding
    REALTIME_API_KEY: 'k',
    DISCORD_TOKEN: 'MTIzNDU2Nzg5MDEyMzQ1Njc4.abcdef.ghijklmnopqrstuvwxyz',
  };
  try {
    loadShardedConfig(env, { requireDiscord: true, requireRealtimeKey: true });
    assert.fail('should throw');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const expected = [
      /^ALONE_TIMEOUT_SECONDS must be a whole number from 0 to 86400 \(got "soon"\)$/,
      /^METRICS_PORT 65534 \+ shard id 3 is above 65535/,
      /^REALTIME_PROVIDER must be openai, cometapi or custom \(got "acme"\)$/,
      /^INSTRUCTIONS_PERMISSION must be a Discord permission name .*use ManageGuild \(got "ManageServer"\)$/,
      /^SHARD_RESPAWN must be true or false \(got "sometimes"\)$/,
    ];
    for (const pattern of expected) assert.ok(error.problems.some((problem) => pattern.test(problem)), `${pattern} in:\n${error.message}`);
    assert.equal(error.problems.length, expected.length, error.message);
    for (const pattern of expected) assert.match(error.message, new RegExp(pattern.source.slice(1).replace(/\$$/, '')), 'all in the one message');
  }
});

test('INSTRUCTIONS_PERMISSION is checked against discord.js PermissionFlagsBits and stored as the flag name', () => {
  assert.equal(loadConfig({}).instructionsPermission, 'ManageGuild');
  assert.equal(loadConfig({ INSTRUCTIONS_PERMISSION: 'ManageRoles' }).instructionsPermission, 'ManageRoles');
  assert.equal(loadConfig({ INSTRUCTIONS_PERMISSION: 'MANAGE_GUILD' }).instructionsPermission, 'ManageGuild');
  assert.equal(loadConfig({ INSTRUCTIONS_PERMISSION: 'administrator' }).instructionsPermission, 'Administrator');
  assert.throws(() => loadConfig({ INSTRUCTIONS_PERMISSION: 'ManageServer' }), /Discord shows ManageGuild as "Manage Server": use ManageGuild/);
  assert.throws(() => loadConfig({ INSTRUCTIONS_PERMISSION: 'Moderator' }), /INSTRUCTIONS_PERMISSION must be a Discord permission name .*\(got "Moderator"\)/);
  assert.throws(() => loadConfig({ INSTRUCTIONS_PERMISSION: 'constructor' }), /INSTRUCTIONS_PERMISSION must be/);
});

test('sharding settings that are fine together pass; metrics ports must fit every shard', () => {
  const { sharding, config } = loadShardedConfig({ SHARD_COUNT: '8', SHARD_LIST: '4-7', METRICS_PORT: '9464' });
  assert.deepEqual(sharding.shardList, [4, 5, 6, 7]);
  assert.equal(config.metricsPort, 9464);
  assert.doesNotThrow(() => loadShardedConfig({ SHARD_COUNT: '2', METRICS_PORT: '65534' }));
  assert.throws(() => loadShardedConfig({ SHARD_COUNT: '3', METRICS_PORT: '65534' }), /METRICS_PORT 65534 \+ shard id 2/);
});

test('an unknown provider and a non-websocket URL are refused', () => {
  assert.throws(() => loadConfig({ REALTIME_PROVIDER: 'acme' }), /REALTIME_PROVIDER must be openai, cometapi or custom/);
  assert.throws(() => loadConfig({ REALTIME_URL: 'https://example.com' }), /REALTIME_URL must be a ws:\/\/ or wss:\/\/ URL/);
  assert.throws(() => loadConfig({ REALTIME_URL: 'wss://example.com/v1/realtime#frag' }), /REALTIME_URL must not have a #fragment/);
  assert.throws(() => loadConfig({ REALTIME_URL: 'wss:// example.com' }), /REALTIME_URL must be a ws:\/\/ or wss:\/\/ URL/);
});

test('the error message never echoes a token', () => {
  try {
    loadConfig({ DISCORD_TOKEN: 'short secret!' });
    assert.fail('should throw');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.doesNotMatch(error.message, /short secret/);
  }
});

test('the model always reaches the URL: presets, REALTIME_MODEL, a URL without or with a model', () => {
  const url = (env: Record<string, string>) => loadConfig(env).realtime;
  assert.deepEqual(url({ REALTIME_PROVIDER: 'cometapi' }), {
    ...url({ REALTIME_PROVIDER: 'cometapi' }),
    url: 'wss://api.cometapi.com/v1/realtime?model=gpt-4o-realtime',
    model: 'gpt-4o-realtime',
  });
  const mini = url({ REALTIME_MODEL: 'gpt-realtime-mini' });
  assert.equal(mini.url, 'wss://api.openai.com/v1/realtime?model=gpt-realtime-mini');
  assert.equal(mini.model, 'gpt-realtime-mini');
  const custom = url({ REALTIME_URL: 'wss://gateway.example/v1/realtime', REALTIME_MODEL: 'gpt-realtime-2' });
  assert.equal(custom.url, 'wss://gateway.example/v1/realtime?model=gpt-realtime-2');
  assert.equal(custom.provider, 'custom');
  const customDefault = url({ REALTIME_URL: 'wss://gateway.example/v1/realtime' });
  assert.equal(customDefault.url, 'wss://gateway.example/v1/realtime?model=gpt-realtime');
  // A model in the URL is the one dialed and priced; the URL is left exactly as written.
  const inUrl = url({ REALTIME_URL: 'wss://gateway.example/v1/realtime?model=gpt-realtime-2.1&tenant=a%2Fb' });
  assert.equal(inUrl.url, 'wss://gateway.example/v1/realtime?model=gpt-realtime-2.1&tenant=a%2Fb');
  assert.equal(inUrl.model, 'gpt-realtime-2.1');
  const sameModel = url({ REALTIME_URL: 'wss://gateway.example/v1/realtime?model=gpt-realtime-2', REALTIME_MODEL: 'gpt-realtime-2' });
  assert.equal(sameModel.url, 'wss://gateway.example/v1/realtime?model=gpt-realtime-2');
  // Other query parameters stay byte for byte; the model is appended with & and percent-encoded.
  const query = url({ REALTIME_URL: 'wss://gateway.example/v1/realtime?api-version=2025-08-28&x=a+b', REALTIME_MODEL: 'my model/2' });
  assert.equal(query.url, 'wss://gateway.example/v1/realtime?api-version=2025-08-28&x=a+b&model=my%20model%2F2');
  assert.equal(query.model, 'my model/2');
  // The preset's provider with an overriding URL keeps the provider's dialect.
  const cometProxy = url({ REALTIME_PROVIDER: 'cometapi', REALTIME_URL: 'wss://proxy.example/realtime' });
  assert.equal(cometProxy.url, 'wss://proxy.example/realtime?model=gpt-4o-realtime');
  assert.equal(cometProxy.dialect, 'beta');
});

test('a model in REALTIME_URL that contradicts REALTIME_MODEL, or an empty one, is refused', () => {
  assert.throws(
    () => loadConfig({ REALTIME_URL: 'wss://gateway.example/v1/realtime?model=gpt-realtime', REALTIME_MODEL: 'gpt-realtime-mini' }),
    /REALTIME_URL names the model "gpt-realtime" but REALTIME_MODEL is "gpt-realtime-mini"/,
  );
  assert.throws(() => loadConfig({ REALTIME_URL: 'wss://gateway.example/v1/realtime?model=' }), /REALTIME_URL has an empty model= parameter/);
});

test('database: SQLite by default, PostgreSQL with DATABASE_URL; a bad URL or pool size is refused; the password is a secret', () => {
  const defaults = loadConfig({});
  assert.equal(defaults.databaseUrl, undefined);
  assert.equal(defaults.databasePath, 'data/bot.sqlite');
  assert.equal(defaults.databasePoolMax, 5);
  const shared = loadConfig({ DATABASE_URL: 'postgres://bot:s%40cret@db.internal:5432/voicebot?sslmode=require', DATABASE_POOL_MAX: '8' });
  assert.equal(shared.databaseUrl, 'postgres://bot:s%40cret@db.internal:5432/voicebot?sslmode=require');
  assert.equal(shared.databasePoolMax, 8);
  assert.ok(configSecrets(shared).includes('s@cret'), 'the decoded password is scrubbed from logs');
  assert.deepEqual(configSecrets(loadConfig({ DATABASE_URL: 'postgresql://localhost/voicebot' })), [], 'no password, no secret');
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://bot@db/voicebot' }), (error: ConfigError) => error.problems.some((problem) => /^DATABASE_URL must be a PostgreSQL URL/.test(problem)));
  assert.throws(() => loadConfig({ DATABASE_POOL_MAX: '0' }), (error: ConfigError) => error.problems.some((problem) => /^DATABASE_POOL_MAX must be a whole number from 1 to 100/.test(problem)));
});

test('a GA-only voice with the beta dialect is refused at start', () => {
  assert.throws(() => loadConfig({ REALTIME_PROVIDER: 'cometapi', REALTIME_VOICE: 'marin' }), /REALTIME_VOICE marin is GA-only; with the beta dialect use one of alloy, ash/);
  assert.equal(loadConfig({ REALTIME_PROVIDER: 'openai', REALTIME_VOICE: 'marin' }).realtime.voice, 'marin');
});

test('numbers: a whole-number setting refuses a fraction, a number setting keeps one; blank means the default', () => {
  assert.throws(
    () => loadConfig({ ALONE_TIMEOUT_SECONDS: '1.5' }),
    (error: ConfigError) => error.problems.includes('ALONE_TIMEOUT_SECONDS must be a whole number from 0 to 86400 (got "1.5")'),
  );
  assert.throws(
    () => loadConfig({ SESSION_ROTATE_MINUTES: 'Infinity' }),
    (error: ConfigError) => error.problems.includes('SESSION_ROTATE_MINUTES must be a number from 0.01 to 59 (got "Infinity")'),
  );
  const config = loadConfig({ SESSION_ROTATE_MINUTES: '0.5', BARGE_IN_MIN_DBFS: '-37.5', ALONE_TIMEOUT_SECONDS: '  ' });
  assert.equal(config.sessionRotateMs, 30_000);
  assert.equal(config.bargeIn.minLevelDbfs, -37.5);
  assert.equal(config.aloneTimeoutMs, 60_000, "blank: the default 60 s");
});
