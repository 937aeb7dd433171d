/**
 * The processes and ports of the embedded stack as the supervisor (stack.ts) asks about them: is a pid
 * alive, does a URL answer, what a port says it is (one of our services, of any checkout), who listens
 * on it (from /proc on Linux), and which ports are free.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { IDENTITY_PATH } from './identity.ts';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function responds(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

export interface Identity {
  service: string;
  token: string;
  dataDir: string;
  pid: number;
}

/** What a port says it is, when it is one of our services (any checkout's). */
export async function identityAt(port: number): Promise<Identity | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${IDENTITY_PATH}`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return undefined;
    const id = (await res.json()) as Partial<Identity>;
    return typeof id.token === 'string' && typeof id.pid === 'number' ? (id as Identity) : undefined;
  } catch {
    return undefined;
  }
}

/** Who listens on a port: another renewal stack (its data directory), else the pid and command line from /proc (Linux). */
export async function whoHolds(port: number): Promise<string> {
  const id = await identityAt(port);
  if (id) return `the embedded stack of another checkout (${id.service}, pid ${id.pid}, data in ${id.dataDir})`;
  const pid = listeningPid(port);
  if (pid) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 120);
    } catch {
      /* gone, or not ours to read */
    }
    return `pid ${pid}${cmd ? ` (${cmd})` : ''}`;
  }
  return 'another process';
}

/** The pid that has a listening TCP socket on `port`, from /proc (undefined where /proc cannot tell). */
export function listeningPid(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length > 9 && cols[3] === '0A' && parseInt(cols[1]!.split(':').at(-1)!, 16) === port) inodes.add(cols[9]!);
      }
    } catch {
      return undefined;
    }
  }
  if (!inodes.size) return undefined;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(pid);
      }
    } catch {
      /* not ours to read */
    }
  }
  return undefined;
}

export async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

export async function anyFreePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}
