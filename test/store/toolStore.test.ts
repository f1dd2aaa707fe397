/**
 * The tools' part of the store on both backends: tools switched off per guild and reminders survive a
 * restart; a due reminder is claimed by exactly one of two processes and renewed by its holder only; a failed delivery comes back
 * after its retry time; a member cancels only their own reminders.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { createStore, type BotStore, type StoreOptions } from '../../src/store/index.ts';
import { testPostgres, type TestPostgres } from '../helpers/postgres.ts';

const dir = mkdtempSync(join(tmpdir(), 'tool-store-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let server: Promise<TestPostgres> | null = null;
after(async () => (await server?.catch(() => null))?.close());
let files = 0;

const backends: Record<'sqlite' | 'postgres', () => Promise<StoreOptions>> = {
  sqlite: async () => ({ databasePath: join(dir, `db-${++files}.sqlite`), logger: silentLogger }),
  postgres: async () => ({ databaseUrl: await (await (server ??= testPostgres())).createDatabase(), logger: silentLogger }),
};

for (const [name, fresh] of Object.entries(backends)) {
  describe(`tool store on ${name}`, () => {
    const stores: BotStore[] = [];
    const open = (options: StoreOptions) => {
      const store = createStore(options);
      stores.push(store);
      return store;
    };
    after(async () => {
      for (const store of stores) await store.close();
    });

    test('tools switched off per guild survive a restart and switch back on', async () => {
      const options = await fresh();
      const first = open(options);
      await first.tools.setToolEnabled('g1', 'post_message', false);
      await first.tools.setToolEnabled('g1', 'mcp:docs', false);
      await first.tools.setToolEnabled('g2', 'who_is_here', false);
      await first.close();
      const second = open(options);
      assert.deepEqual(await second.tools.disabledTools('g1'), ['mcp:docs', 'post_message']);
      await second.tools.setToolEnabled('g1', 'post_message', true);
      assert.deepEqual(await second.tools.disabledTools('g1'), ['mcp:docs']);
      assert.deepEqual(await second.tools.disabledTools('g2'), ['who_is_here']);
      assert.deepEqual(await second.tools.disabledTools('g3'), []);
    });

    test('reminders survive a restart, are due in order, and are delivered by one process only', async () => {
      const options = await fresh();
      const now = Date.now();
      const first = open(options);
      const later = await first.tools.addReminder({ guildId: 'g1', channelId: 'c1', userId: 'u1', text: 'stretch', dueAt: now + 60_000 });
      const soon = await first.tools.addReminder({ guildId: 'g1', channelId: 'c1', userId: 'u1', text: "'; DROP TABLE reminders; --\u0000", dueAt: now + 1_000 });
      await first.close();
      const a = open(options);
      const b = open(options);
      // Both open first: two SQLite connections in one thread would wait on each other's migration
      // (separate processes, as shards are, do not).
      await a.open();
      await b.open();
      assert.deepEqual((await a.tools.pendingReminders('g1', 'u1')).map((r) => r.id), [soon.id, later.id]);
      assert.equal((await a.tools.pendingReminders('g1', 'u1'))[0]!.text, "'; DROP TABLE reminders; --", 'stored verbatim, NUL removed');
      assert.deepEqual(await a.tools.dueReminders(now, now, 10), [], 'nothing due yet');
      const due = await a.tools.dueReminders(now + 2_000, now, 10);
      assert.deepEqual(due.map((r) => r.id), [soon.id]);
      // Two processes try to deliver it at once: one claim wins.
      const claims = await Promise.all([a.tools.claimReminder(soon.id, now, now + 30_000), b.tools.claimReminder(soon.id, now, now + 30_000)]);
      assert.deepEqual(claims.sort(), [false, true]);
      assert.deepEqual(await b.tools.dueReminders(now + 2_000, now + 1, 10), [], 'a claimed reminder is not due for others while the claim lasts');
      // Only the holder renews its claim (naming the claim it holds), and only while it is undelivered.
      assert.equal(await b.tools.renewReminder(soon.id, now + 29_000, now + 90_000), false, 'not the claim it holds');
      assert.equal(await a.tools.renewReminder(soon.id, now + 30_000, now + 60_000), true);
      assert.equal(await b.tools.claimReminder(soon.id, now + 45_000, now + 105_000), false, 'renewed past the first lease');
      assert.equal(await a.tools.renewReminder(soon.id, now + 30_000, now + 90_000), false, 'the old claim is gone');
      // The delivery failed: it comes back from its retry time, not before.
      await a.tools.releaseReminder(soon.id, now + 5_000);
      assert.deepEqual(await b.tools.dueReminders(now + 2_000, now + 4_000, 10), []);
      assert.deepEqual((await b.tools.dueReminders(now + 6_000, now + 6_000, 10)).map((r) => [r.id, r.attempts]), [[soon.id, 1]]);
      assert.equal(await b.tools.claimReminder(soon.id, now + 6_000, now + 36_000), true);
      await b.tools.completeReminder(soon.id, now + 6_000);
      assert.deepEqual((await a.tools.dueReminders(now + 100_000, now + 100_000, 10)).map((r) => r.id), [later.id], 'a delivered reminder is never due again');
      assert.equal(await a.tools.claimReminder(soon.id, now + 100_000, now + 130_000), false);
    });

    test('a member cancels only their own undelivered reminders', async () => {
      const store = open(await fresh());
      const mine = await store.tools.addReminder({ guildId: 'g1', channelId: 'c1', userId: 'u1', text: 'mine', dueAt: Date.now() + 60_000 });
      assert.equal(await store.tools.cancelReminder('g1', 'u2', mine.id), false, "someone else's");
      assert.equal(await store.tools.cancelReminder('g2', 'u1', mine.id), false, 'another guild');
      assert.equal(await store.tools.cancelReminder('g1', 'u1', mine.id), true);
      assert.equal(await store.tools.cancelReminder('g1', 'u1', mine.id), false, 'already gone');
      assert.deepEqual(await store.tools.pendingReminders('g1', 'u1'), []);
    });
  });
}
