/**
 * Reminder delivery across processes on both backends: a send that stays pending longer than the
 * claim (discord.js holding it behind a rate limit) keeps its claim renewed, so a second process
 * (another ReminderService on its own connection to the same database) never claims and sends it
 * again; renewing stops once the send settles. The clock and the renewal timer are mocked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, mock, test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { createStore, type BotStore, type StoreOptions, type ToolStore } from '../../src/store/index.ts';
import { LEASE_MS, LEASE_RENEW_MS, ReminderService } from '../../src/tools/reminders.ts';
import { testPostgres, type TestPostgres } from '../helpers/postgres.ts';

const dir = mkdtempSync(join(tmpdir(), 'reminders-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let server: Promise<TestPostgres> | null = null;
after(async () => (await server?.catch(() => null))?.close());

const backends: Record<'sqlite' | 'postgres', () => Promise<StoreOptions>> = {
  sqlite: async () => ({ databasePath: join(dir, 'db.sqlite'), logger: silentLogger }),
  postgres: async () => ({ databaseUrl: await (await (server ??= testPostgres())).createDatabase(), logger: silentLogger }),
};

/** The store, with every renewal it was asked for recorded (so the test can wait for them). */
function watchRenewals(inner: ToolStore, renewals: Promise<boolean>[]): ToolStore {
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'renewReminder') {
        return (id: string, heldUntil: number, leaseUntil: number) => {
          const renewal = target.renewReminder(id, heldUntil, leaseUntil);
          renewals.push(renewal);
          return renewal;
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

for (const [name, fresh] of Object.entries(backends)) {
  describe(`reminder delivery on ${name}`, () => {
    const stores: BotStore[] = [];
    afterEach(() => mock.timers.reset());
    after(async () => {
      for (const store of stores) await store.close();
    });

    test('a send pending longer than the claim is not claimed and sent again by a second process', async () => {
      const options = await fresh();
      const storeA = createStore(options);
      const storeB = createStore(options);
      stores.push(storeA, storeB);
      await storeA.open();
      await storeB.open();
      // Real setTimeout (the due timer fires at once); mocked interval (the renewer) and Date.
      mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() });
      const reminder = await storeA.tools.addReminder({ guildId: 'g1', channelId: 'c1', userId: 'u1', text: 'stretch', dueAt: Date.now() });

      const renewals: Promise<boolean>[] = [];
      let settle!: () => void;
      const send = new Promise<void>((resolve) => (settle = resolve));
      let sendStarted!: () => void;
      const started = new Promise<void>((resolve) => (sendStarted = resolve));
      const sentByA: string[] = [];
      const sentByB: string[] = [];
      const a = new ReminderService({
        store: watchRenewals(storeA.tools, renewals),
        logger: silentLogger,
        owns: () => true,
        deliver: (r) => {
          sentByA.push(r.id);
          sendStarted();
          return send; // stuck in discord.js's rate-limit queue
        },
      });
      const b = new ReminderService({ store: storeB.tools, logger: silentLogger, owns: () => true, deliver: async (r) => void sentByB.push(r.id) });
      // The services' timers are unref'd (they never hold a bot open); this holds the test's loop.
      const keepAlive = setTimeout(() => undefined, 60_000);
      after(() => (a.stop(), b.stop(), clearTimeout(keepAlive)));

      await a.poll();
      await started;
      // Two whole leases pass while the send is pending; each renewal lands before the next tick.
      const ticks = Math.ceil((2 * LEASE_MS) / LEASE_RENEW_MS);
      for (let i = 0; i < ticks; i++) {
        mock.timers.tick(LEASE_RENEW_MS);
        assert.deepEqual(await Promise.all(renewals), renewals.map(() => true), 'every renewal kept the claim');
        await b.poll(); // the other process's scan
      }
      const now = Date.now();
      assert.deepEqual(await storeB.tools.dueReminders(now + 30_000, now, 10), [], 'still claimed for the other process');
      assert.equal(await storeB.tools.claimReminder(reminder.id, now, now + LEASE_MS), false, 'the other process cannot claim it');
      assert.equal(renewals.length, ticks, 'renewed every LEASE_RENEW_MS');

      settle();
      await until(async () => (await storeB.tools.pendingReminders('g1', 'u1')).length === 0, 'delivery recorded');
      await b.poll();
      mock.timers.tick(3 * LEASE_RENEW_MS);
      assert.equal(renewals.length, ticks, 'no renewal once the send settled');
      assert.deepEqual(sentByA, [reminder.id]);
      assert.deepEqual(sentByB, [], 'sent once, by the process that claimed it');
    });
  });
}
