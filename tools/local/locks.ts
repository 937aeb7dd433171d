/**
 * The embedded stack's lock files: the start lock (two commands never start the same service twice)
 * and the import lock (one `renewal import` per stack at a time). A lock of a dead process is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '#shared/clock.ts';
import { BusyError } from '#shared/errors.ts';
import { retry, type RetryPolicy } from '#shared/retry.ts';
import { LOCAL_DIR } from './paths.ts';
import { alive } from './processes.ts';

const IMPORT_LOCK = join(LOCAL_DIR, 'import.lock');
/** Held while services are started, so two commands never start the same service twice. */
const START_LOCK = join(LOCAL_DIR, 'start.lock');

/** Another import runs on this stack: nothing was done (the CLI exits 75). */
export class ImportBusyError extends BusyError {
  override name = 'ImportBusyError';
}

const START_LOCK_POLL: RetryPolicy = { attempts: Infinity, baseMs: 100, capMs: 250, jitter: 0.2, withinMs: 60_000 };

/** Runs `fn` holding the start lock (another command starting services is waited for; a lock of a dead command is taken over). */
export async function withStartLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(LOCAL_DIR, { recursive: true });
  const took = await retry(
    START_LOCK_POLL,
    async () => {
      try {
        writeFileSync(START_LOCK, String(process.pid), { flag: 'wx' });
        return { done: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = Number(readFileSync(START_LOCK, 'utf8'));
        if (!holder || !alive(holder)) rmSync(START_LOCK, { force: true }); // its command died
        return { again: holder };
      }
    },
    systemClock,
  );
  if (!took.ok) throw new Error(`another command (pid ${took.last}) has been starting the embedded stack for a minute (${START_LOCK}); try again when it ends`);
  try {
    return await fn();
  } finally {
    rmSync(START_LOCK, { force: true });
  }
}

/**
 * One import per stack at a time (two would each count the other's events as accepted: the intake's
 * read-then-write is exact only while one message group is never in two batches at once). An
 * exclusive lock file; one left by a killed import (its pid gone) is taken over. Returns the release.
 */
export async function holdImportLock(file: string): Promise<() => Promise<void>> {
  const me = { pid: process.pid, file, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(IMPORT_LOCK, JSON.stringify(me), { flag: 'wx' });
      const release = () => rmSync(IMPORT_LOCK, { force: true });
      process.once('exit', release);
      return async () => {
        process.off('exit', release);
        release();
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let held: typeof me | undefined;
      try {
        held = JSON.parse(readFileSync(IMPORT_LOCK, 'utf8')) as typeof me;
      } catch {
        /* half-written: treat as stale */
      }
      if (held && alive(held.pid)) {
        throw new ImportBusyError(`another import is running on this stack (pid ${held.pid}, ${held.file}, since ${held.startedAt}); nothing was done: run it again when that one ends`);
      }
      rmSync(IMPORT_LOCK, { force: true }); // its import was killed
    }
  }
  throw new ImportBusyError('another import took the stack at the same moment; run it again');
}
