import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

test('defaults: OpenAI GA preset, sensible numbers', () => {
  const config = loadConfig({});
  assert.equal(config.realtime.provider, 'openai');
  assert.equal(config.realtime.dialect, 'ga');
  assert.equal(config.realtime.url, 'wss://api.openai.com/v1/realtime');
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

test('every problem is reported at once, one sentence each', () => {
  try {
    loadConfig(
      { REALTIME_DIALECT: 'gamma', ALONE_TIMEOUT_SECONDS: 'soon', REALTIME_VOICE: 'robot', DISCORD_GUILD_ID: 'abc' },
      { requireDiscord: true, requireRealtimeKey: true },
    );
    assert.fail('should throw');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const text = error.problems.join('\n');
    assert.match(text, /ALONE_TIMEOUT_SECONDS must be a whole number/);
    // the schema stage stops before the semantic stage; fix numbers first, then the rest is reported
  }
  try {
    loadConfig({ REALTIME_DIALECT: 'gamma', REALTIME_VOICE: 'robot', DISCORD_GUILD_ID: 'abc' }, { requireDiscord: true, requireRealtimeKey: true });
    assert.fail('should throw');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const text = error.problems.join('\n');
    assert.match(text, /REALTIME_DIALECT must be "ga"/);
    assert.match(text, /REALTIME_VOICE must be one of/);
    assert.match(text, /DISCORD_GUILD_ID must be a numeric Discord id/);
    assert.match(text, /DISCORD_TOKEN is missing/);
    assert.match(text, /REALTIME_API_KEY is missing/);
    assert.equal(error.problems.length, 5);
  }
});

test('an unknown provider and a non-websocket URL are refused', () => {
  assert.throws(() => loadConfig({ REALTIME_PROVIDER: 'acme' }), /REALTIME_PROVIDER must be openai, cometapi or custom/);
  assert.throws(() => loadConfig({ REALTIME_URL: 'https://example.com' }), /must start with ws:\/\/ or wss:\/\//);
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
