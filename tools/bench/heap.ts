/**
 * The heap as the bench's memory goals read it: the objects live after a full collection, sampled
 * while a measured piece of work runs.
 */
import { runInNewContext } from 'node:vm';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The objects live after a full collection: V8's new, old and large-object spaces, what a program's
 * data occupies, not garbage waiting. The code and trusted spaces (compiled code, bytecode, feedback
 * and deoptimization data) are left out: they follow how long the JIT has had to compile and when it
 * flushes, not what the program keeps (a 16× import holds the same objects as a 1× one, while its
 * compiled code alone grows by about 0.5 MB over the run, and shrinks again when bytecode is flushed).
 */
export function liveHeap(): number {
  return heapNow().objects;
}
const OBJECT_SPACES = new Set(['new_space', 'old_space', 'large_object_space', 'new_large_object_space']);
/** `objects` as `liveHeap` counts them, and V8's whole heap in use, after one full collection. */
export function heapNow(): { objects: number; whole: number } {
  gc();
  const objects = getHeapSpaceStatistics().reduce((n, sp) => n + (OBJECT_SPACES.has(sp.space_name) ? sp.space_used_size : 0), 0);
  return { objects, whole: process.memoryUsage().heapUsed };
}
let gcFn: (() => void) | undefined;
function gc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}
