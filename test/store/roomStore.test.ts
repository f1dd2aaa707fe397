/**
 * The rooms' part of the store (room settings, /privacy opt-outs) on both backends: SQLite (a
 * temporary file) and PostgreSQL (a throw-away server, or TEST_DATABASE_URL's). Choices survive a
 * restart, concurrent changes of different settings both stick, damaged rows fall back to defaults.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { createStore, defaultRoomSettings, type StoreOptions } from '../../src/store/index.ts';
import { DatabaseSync } from '../../src/store/sqlite.ts';
import { RoomPolicies } from '../../src/voice/roomPolicy.ts';
import { testPostgres, type TestPostgres } from '../helpers/postgres.ts';

const dir = mkdtempSync(join(tmpdir(), 'room-store-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let sqliteCount = 0;
let server: Promise<TestPostgres> | null = null;
after(async () => (await server?.catch(() => null))?.close());

const backends: { name: string; fresh(): Promise<StoreOptions> }[] = [
  { name: 'sqlite', fresh: async () => ({ databasePath: join(dir, `db-${++sqliteCount}.sqlite`), logger: silentLogger }) },
  { name: 'postgres', fresh: async () => ({ databaseUrl: await (await (server ??= testPostgres())).createDatabase(), logger: silentLogger }) },
];

for (const backend of backends) {
  describe(`room store on ${backend.name}`, () => {
    test('settings and opt-outs survive a restart; a new server has the defaults', async () => {
      const options = await backend.fresh();
      const first = createStore(options);
      assert.deepEqual(await first.rooms.getRoomSettings('g1'), defaultRoomSettings());
      assert.deepEqual(await first.rooms.optedOut('g1'), []);
      await first.rooms.updateRoomSettings('g1', { addressing: 'name', wakeNames: ['Jarvis', 'computer'], followUpSeconds: 7.5, notice: false });
      await first.rooms.updateRoomSettings('g1', { captions: true, heardRoleIds: ['r1'], noiseReduction: 'far_field', noticeText: 'Hi' });
      assert.equal(await first.rooms.setOptedOut('g1', 'u2', true), true);
      assert.equal(await first.rooms.setOptedOut('g1', 'u2', true), false, 'opting out twice changes nothing');
      await first.rooms.setOptedOut('g1', 'u1', true);
      await first.rooms.setOptedOut('g2', 'u3', true);
      await first.close();

      const second = createStore(options);
      assert.deepEqual(await second.rooms.getRoomSettings('g1'), {
        addressing: 'name',
        wakeNames: ['Jarvis', 'computer'],
        followUpSeconds: 7.5,
        notice: false,
        noticeText: 'Hi',
        captions: true,
        heardRoleIds: ['r1'],
        joinRoleIds: null,
        noiseReduction: 'far_field',
      });
      assert.deepEqual(await second.rooms.optedOut('g1'), ['u1', 'u2']);
      assert.equal(await second.rooms.setOptedOut('g1', 'u1', false), true);
      assert.equal(await second.rooms.setOptedOut('g1', 'u1', false), false);
      assert.deepEqual(await second.rooms.optedOut('g1'), ['u2']);
      const reset = await second.rooms.updateRoomSettings('g1', { wakeNames: null, notice: true });
      assert.equal(reset.wakeNames, null, 'null resets a field');
      assert.equal(reset.notice, true);
      assert.equal(reset.addressing, 'name', 'other fields stay');
      await second.close();
    });

    test('two changes of different settings at the same moment both stick', async () => {
      const store = createStore(await backend.fresh());
      await Promise.all([
        store.rooms.updateRoomSettings('g1', { addressing: 'always' }),
        store.rooms.updateRoomSettings('g1', { captions: true }),
        store.rooms.updateRoomSettings('g1', { joinRoleIds: ['a', 'b'] }),
        store.rooms.setOptedOut('g1', 'u1', true),
        store.rooms.setOptedOut('g1', 'u2', true),
      ]);
      const settings = await store.rooms.getRoomSettings('g1');
      assert.equal(settings.addressing, 'always');
      assert.equal(settings.captions, true);
      assert.deepEqual(settings.joinRoleIds, ['a', 'b']);
      assert.deepEqual(await store.rooms.optedOut('g1'), ['u1', 'u2']);
      await store.close();
    });
  });
}

test('a damaged list falls back to the default instead of breaking the server', async () => {
  const options = await backends[0]!.fresh();
  const store = createStore(options);
  await store.rooms.updateRoomSettings('g1', { wakeNames: ['Max'], addressing: 'name' });
  await store.close();
  const db = new DatabaseSync(options.databasePath!);
  db.prepare("UPDATE guild_rooms SET wake_names = '{not json' WHERE guild_id = 'g1'").run();
  db.close();
  const reopened = createStore(options);
  const settings = await reopened.rooms.getRoomSettings('g1');
  assert.equal(settings.wakeNames, null);
  assert.equal(settings.addressing, 'name');
  await reopened.close();
});

describe('room policies (the synchronous copy the audio path reads)', () => {
  test('opt-outs and roles decide who is heard; the store is written before the copy', async () => {
    const store = createStore({ databasePath: join(dir, 'policies.sqlite'), logger: silentLogger });
    const rooms = new RoomPolicies(store.rooms, silentLogger);
    const [a, b] = await Promise.all([rooms.load('g1'), rooms.load('g1')]);
    assert.equal(a, b, 'one load for concurrent callers');
    const alice = { id: 'alice', bot: false, roleIds: ['member'] };
    const robo = { id: 'robo', bot: true, roleIds: [] };
    assert.equal(a.hears(alice), true);
    assert.equal(a.hears(robo), false, 'bots are never heard');
    const changed: string[] = [];
    rooms.on('changed', (guildId) => changed.push(guildId));
    await rooms.setOptedOut('g1', 'alice', true);
    assert.equal(a.hears(alice), false);
    assert.equal(a.optedOutCount, 1);
    assert.deepEqual(await store.rooms.optedOut('g1'), ['alice'], 'saved');
    await rooms.setOptedOut('g1', 'alice', false);
    await rooms.update('g1', { heardRoleIds: ['speaker'], joinRoleIds: ['dj'] });
    assert.equal(a.hears(alice), false, 'without a heard role');
    assert.equal(a.hears({ ...alice, roleIds: ['member', 'speaker'] }), true);
    assert.equal(a.mayJoin(alice), false);
    assert.equal(a.mayJoin({ ...alice, roleIds: ['dj'] }), true);
    assert.deepEqual(changed, ['g1', 'g1', 'g1']);
    assert.equal(rooms.peek('g1'), a);
    assert.equal(rooms.peek('other'), undefined);
    await store.close();
  });

  test('a failed read is not kept: the next load tries again', async () => {
    let calls = 0;
    const flaky = {
      getRoomSettings: async () => {
        if (++calls === 1) throw new Error('database down');
        return defaultRoomSettings();
      },
      optedOut: async () => ['u1'],
      updateRoomSettings: async () => defaultRoomSettings(),
      setOptedOut: async () => true,
    };
    const rooms = new RoomPolicies(flaky, silentLogger);
    await assert.rejects(rooms.load('g1'), /database down/);
    const policy = await rooms.load('g1');
    assert.equal(policy.isOptedOut('u1'), true);
  });
});
