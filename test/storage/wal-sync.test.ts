/**
 * SQLite durability pieces: the fsync of the WAL that every acknowledged commit waits for, and the
 * checkpoints run on a thread of their own.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { KyselyStore } from '../../src/storage/kysely-store.js';
import { WalSync } from '../../src/storage/wal-sync.js';

/** A WalSync whose fsyncs are recorded, by the inode of the file synced; each takes 20 ms. */
function watchedSync(databasePath: string) {
  const synced: number[] = [];
  const wal = new WalSync(databasePath, async (fd) => {
    synced.push(fs.fstatSync(fd).ino);
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
  return { wal, synced };
}

describe('WalSync', () => {
  let dir: string;
  let databasePath: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-wal-sync-'));
    databasePath = path.join(dir, 'crosswalk.db');
    fs.writeFileSync(databasePath, '');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('commits made while an fsync runs share the one that follows it: three calls, two fsyncs', async () => {
    fs.writeFileSync(`${databasePath}-wal`, 'frames');
    const { wal, synced } = watchedSync(databasePath);
    const calls = [wal.sync(), wal.sync(), wal.sync()];
    await Promise.all(calls);
    assert.equal(synced.length, 2);
    await wal.close();
  });

  test('a WAL file deleted and created anew is the one synced next', async () => {
    fs.writeFileSync(`${databasePath}-wal`, 'first');
    const { wal, synced } = watchedSync(databasePath);
    const first = wal.sync();
    await first;
    const firstInode = fs.statSync(`${databasePath}-wal`).ino;
    fs.renameSync(`${databasePath}-wal`, `${databasePath}-old`);
    fs.writeFileSync(`${databasePath}-wal`, 'second');
    const secondInode = fs.statSync(`${databasePath}-wal`).ino;
    const second = wal.sync();
    await second;
    assert.notEqual(firstInode, secondInode);
    assert.deepEqual(synced, [firstInode, secondInode]);
    await wal.close();
    fs.rmSync(`${databasePath}-old`);
  });

  test('without a WAL file the database file is synced', async () => {
    fs.rmSync(`${databasePath}-wal`, { force: true });
    const { wal, synced } = watchedSync(databasePath);
    const call = wal.sync();
    await call;
    assert.deepEqual(synced, [fs.statSync(databasePath).ino]);
    await wal.close();
  });
});

describe('SQLite store durability', () => {
  let dir: string;
  let file: string;
  let store: KyselyStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosswalk-durability-'));
    file = path.join(dir, 'crosswalk.db');
    store = KyselyStore.open({ kind: 'sqlite', file });
    await store.migrate();
  });
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the database is in WAL mode, which the fsync after each commit relies on', () => {
    const check = new SqliteDatabase(file);
    try {
      assert.equal(check.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      check.close();
    }
  });

  test('the checkpoint thread copies committed writes into the database file itself', async () => {
    const apps = await Promise.all(Array.from({ length: 20 }, (_, i) => store.createApp(`checkpointed-${i}`)));
    // The database file alone, without its WAL, holds the apps once a checkpoint has copied them.
    const copy = path.join(dir, 'copy.db');
    let found = 0;
    for (let attempt = 0; attempt < 100 && found !== apps.length; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      fs.copyFileSync(file, copy);
      const alone = new SqliteDatabase(copy);
      try {
        const tables = alone.prepare("select count(*) as n from sqlite_master where name = 'apps'").get() as { n: number };
        if (tables.n === 1) found = (alone.prepare("select count(*) as n from apps where name like 'checkpointed-%'").get() as { n: number }).n;
      } finally {
        alone.close();
      }
    }
    assert.equal(found, apps.length);
  });
});
