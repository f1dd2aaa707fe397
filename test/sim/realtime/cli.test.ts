import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { makeClient } from '../../realtime/helpers.ts';

describe('npm run sim:realtime', () => {
  it('prints one JSON line with url and apiKey, serves, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['bin/run.mjs', 'sim/realtime/cli.ts', '--port', '0', '--key', 'cli-key'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const [first] = (await once(lines, 'line')) as [string];
    const info = JSON.parse(first) as { url: string; apiKey: string };
    assert.match(info.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime$/);
    assert.equal(info.apiKey, 'cli-key');
    const client = makeClient({ url: info.url, apiKey: info.apiKey } as never, 'beta');
    await client.connect();
    client.addUserText('over the wire');
    const reply = await client.createResponse({ modalities: ['text'] }).done;
    assert.equal(reply.text, 'Reply 1. You said: "over the wire"');
    await client.close();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });
});
