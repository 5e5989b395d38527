import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const fsync = promisify(fs.fsync);
const open = promisify(fs.open);
const close = promisify(fs.close);

interface OpenFile {
  fd: number;
  dev: number;
  ino: number;
}

/**
 * fsync of a SQLite database's write-ahead log, run on libuv's thread pool so that the event loop
 * (and every read) goes on while the disk works. The connection commits with synchronous = NORMAL:
 * the frames of a commit are in the WAL file (in the page cache) when COMMIT returns; `sync()`
 * then puts them on disk. On Linux fsync flushes every dirty page of the file, whichever
 * descriptor wrote it, so this descriptor of our own covers the connection's writes.
 *
 * SQLite keeps the WAL file while a connection is open: after a checkpoint it starts writing at
 * the beginning again (the same file), and it deletes the file only when the last connection
 * closes or the journal mode changes. Frames that a checkpoint has copied are already on disk in
 * the database file (checkpoints fsync both files). The file is looked up again whenever its
 * inode changes, so a file deleted and created anew is the one synced.
 */
export class WalSync {
  private readonly walPath: string;
  private file: OpenFile | null = null;
  /** The fsync running now, if any. */
  private running: Promise<void> | null = null;
  /** The fsync that starts once the running one ends, shared by every commit since it started. */
  private following: Promise<void> | null = null;

  /** @param syncFile the fsync of a descriptor; replaced only to watch what is synced. */
  constructor(
    private readonly databasePath: string,
    private readonly syncFile: (fd: number) => Promise<void> = fsync,
  ) {
    this.walPath = `${databasePath}-wal`;
  }

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    if (this.following) return this.following;
    if (this.running === null) {
      const run = this.flush().finally(() => {
        if (this.running === run) this.running = null;
      });
      this.running = run;
      return run;
    }
    // The running fsync may have started before this commit's frames were written: one more follows.
    const following = this.running
      .catch(() => {})
      .then(() => {
        this.following = null;
        return this.sync();
      });
    this.following = following;
    return following;
  }

  async close(): Promise<void> {
    await this.following?.catch(() => {});
    await this.running?.catch(() => {});
    const file = this.file;
    this.file = null;
    if (file) await close(file.fd);
  }

  private async flush(): Promise<void> {
    const fd = await this.descriptor();
    await this.syncFile(fd);
  }

  /** A descriptor of the WAL file as it is now; of the database file when there is no WAL file. */
  private async descriptor(): Promise<number> {
    let stat: fs.Stats;
    let target = this.walPath;
    try {
      stat = fs.statSync(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // No WAL file: everything was checkpointed into the database file (or the journal mode was
      // changed); syncing that file is what is left to do.
      target = this.databasePath;
      stat = fs.statSync(target);
    }
    const file = this.file;
    if (file && file.dev === stat.dev && file.ino === stat.ino) return file.fd;
    this.file = null;
    if (file) await close(file.fd);
    const fd = await open(target, 'r');
    // The file as opened, which may already be a newer one than the one looked up.
    const opened = fs.fstatSync(fd);
    this.file = { fd, dev: opened.dev, ino: opened.ino };
    // A file created anew needs its directory entry on disk too.
    await syncDirectory(path.dirname(target));
    return fd;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const fd = await open(directory, 'r');
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}
