import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, configSecrets, loadConfig } from '../src/config.ts';
import { checkServiceUrl, isSecretQueryKey, redactUrl, redactUrlsIn, scrubUrlSecrets, urlSecrets } from '../src/redact.ts';

const LEAKY = 'wss://mallory:hunter2pass@models.example.com:44330/v1/realtime?api-key=sk-live-0123456789&model=gpt-realtime';

test('redactUrl keeps scheme, host, port and path; drops credentials, the query and a fragment', () => {
  assert.equal(redactUrl(LEAKY), 'wss://models.example.com:44330/v1/realtime?…');
  assert.equal(redactUrl('wss://api.openai.com/v1/realtime'), 'wss://api.openai.com/v1/realtime');
  assert.equal(redactUrl('https://example.com/a#token=abc'), 'https://example.com/a');
});

test('redactUrl on text that is not a URL still cuts credentials and query', () => {
  // Two ports: not a URL, and the shape the issue reported leaking through the /join error.
  assert.equal(redactUrl('wss://user:pass@host:1:44330/x?api-key=SECRET'), 'wss://host:1:44330/x?…');
  assert.equal(redactUrl('wss://host with space/x?key=SECRET'), 'wss://host with space/x?…');
  assert.equal(redactUrl('user:pass@host'), 'host');
});

test('redactUrlsIn rewrites every URL inside a message', () => {
  const message = `Invalid URL: ${LEAKY}; retry at https://a:b@c.example/d?token=zzzz then`;
  assert.equal(redactUrlsIn(message), 'Invalid URL: wss://models.example.com:44330/v1/realtime?…; retry at https://c.example/d?… then');
});

test('secret query keys: api keys, tokens, signatures, passwords, not model or version', () => {
  for (const key of ['api-key', 'API_KEY', 'apikey', 'key', 'token', 'access_token', 'sig', 'X-Amz-Signature', 'password', 'client_secret', 'code', 'my_token'])
    assert.equal(isSecretQueryKey(key), true, key);
  for (const key of ['model', 'v', 'encoding', 'api-version', 'deployment', 'compress']) assert.equal(isSecretQueryKey(key), false, key);
});

test('scrubUrlSecrets removes credentials and secret parameter values anywhere in a line, keeping the rest', () => {
  const line = JSON.stringify({ msg: 'x', err: `cannot open ${LEAKY}`, other: 'wss://gateway.discord.gg/?v=10&encoding=json' });
  const out = scrubUrlSecrets(line);
  assert.ok(!out.includes('mallory') && !out.includes('hunter2pass') && !out.includes('sk-live-0123456789'), out);
  assert.match(out, /wss:\/\/\[redacted\]@models\.example\.com:44330/);
  assert.match(out, /api-key=\[redacted\]&model=gpt-realtime/);
  assert.match(out, /v=10&encoding=json/);
  assert.equal(scrubUrlSecrets('nothing to see'), 'nothing to see');
  // Percent-encoded keys are recognised too.
  assert.equal(scrubUrlSecrets('?api%2Dkey=abcdef'), '?api%2Dkey=[redacted]');
});

test('urlSecrets lists the password (or a lone user name) and secret parameter values, raw and decoded', () => {
  assert.deepEqual(urlSecrets('wss://user:p%2Fss@h/x?token=a%2Bb12&model=m').sort(), ['a%2Bb12', 'a+b12', 'p%2Fss', 'p/ss'].sort());
  assert.deepEqual(urlSecrets('https://ghp_token1234@h/x'), ['ghp_token1234']);
  assert.deepEqual(urlSecrets('not a url'), []);
  assert.deepEqual(urlSecrets(undefined), []);
  const config = loadConfig({ REALTIME_URL: 'wss://h/v1/realtime?key=zzzzzz', REALTIME_API_KEY: 'sk-abc', DISCORD_TOKEN: 'a'.repeat(24), DISCORD_API_URL: 'http://127.0.0.1:9/api?token=yyyyyy' });
  assert.deepEqual(configSecrets(config).sort(), ['a'.repeat(24), 'sk-abc', 'yyyyyy', 'zzzzzz'].sort());
});

test('checkServiceUrl: parsed with new URL; scheme, host, port 0, fragment and credentials refused; the URL quoted without secrets', () => {
  const ws = { schemes: ['ws:', 'wss:'] };
  assert.deepEqual(checkServiceUrl('U', 'wss://example.com/v1/realtime?model=m', ws), []);
  assert.match(checkServiceUrl('U', 'https://example.com/x', ws).join(), /U must be a ws:\/\/ or wss:\/\/ URL/);
  assert.match(checkServiceUrl('U', 'wss://example.com:99999/x', ws).join(), /not a valid URL/);
  assert.match(checkServiceUrl('U', 'wss://example.com:0/x', ws).join(), /port 0/);
  assert.match(checkServiceUrl('U', 'wss://example.com/x#f', ws).join(), /#fragment/);
  const problems = checkServiceUrl('U', LEAKY, { ...ws, hint: 'put the key elsewhere' }).join('\n');
  assert.match(problems, /must not contain a user name or password/);
  for (const secret of ['mallory', 'hunter2pass', 'sk-live-0123456789']) assert.ok(!problems.includes(secret), problems);
  const malformed = checkServiceUrl('U', 'wss://mallory:hunter2pass@host:1:44330/x?api-key=sk-live-0123456789', ws).join('\n');
  assert.match(malformed, /not a valid URL/);
  for (const secret of ['mallory', 'hunter2pass', 'sk-live-0123456789']) assert.ok(!malformed.includes(secret), malformed);
});

test('the configuration refuses a REALTIME_URL with credentials, and no problem echoes a URL secret', () => {
  for (const url of [LEAKY, 'wss://mallory:hunter2pass@host:1:44330/v1/realtime?api-key=sk-live-0123456789']) {
    try {
      loadConfig({ REALTIME_URL: url, DISCORD_API_URL: 'http://admin:sk-live-0123456789@localhost:0/api' });
      assert.fail('should throw');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /REALTIME_URL/);
      assert.match(error.message, /DISCORD_API_URL/);
      for (const secret of ['mallory', 'hunter2pass', 'sk-live-0123456789', 'admin']) assert.ok(!error.message.includes(secret), error.message);
    }
  }
  // A secret query parameter alone is allowed (some services take the key that way); it is scrubbed from logs.
  const config = loadConfig({ REALTIME_URL: 'wss://example.com/v1/realtime?api-key=sk-live-0123456789' });
  assert.ok(configSecrets(config).includes('sk-live-0123456789'));
});
