/**
 * The bench's `importHeap4xVs1x`: the peak live heap of `renewal import` (the streaming import) over a
 * file and one four times its size, which stays flat when the import holds a batch, not the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '#shared/aws.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { importFile, type IntakeHandler } from '#cli/import.ts';
import { heapNow } from './heap.ts';
import { mb, median, RATIO_ROUNDS, round, spread, type BenchRun } from './run.ts';
import { benchOrders, withTables } from './workload.ts';

/** Peaks per round, in bytes: live objects (`liveHeap`) at 1× and 4×, and V8's whole heap beside. */
export type ImportHeaps = Record<1 | 4, number[]> & { whole: Record<1 | 4, number[]> };

/** One import of `file` (`orders` orders) into fresh tables, its heap sampled `every` intake calls. */
async function importPeak(dynamo: DynamoDBClientConfig, prefix: string, file: string, orders: number, every: number, concurrency: number): Promise<{ objects: number; whole: number }> {
  return withTables(dynamo, prefix, async (names) => {
    const handler = makeIntake(new IngestStore(createDocumentClient(dynamo), names));
    let calls = 0;
    const start = heapNow();
    const peak = { objects: 0, whole: 0 };
    const sampled: IntakeHandler = async (e) => {
      if (++calls % every === 0) {
        const h = heapNow();
        peak.objects = Math.max(peak.objects, h.objects - start.objects);
        peak.whole = Math.max(peak.whole, h.whole - start.whole);
      }
      return handler(e);
    };
    const result = await importFile(sampled, file, { concurrency, quiet: true });
    if (result.accepted !== orders) throw new Error(`import heap: ${result.accepted} of ${orders} accepted`);
    return peak;
  });
}

/**
 * The peak live heap of `importFile` (the streaming import) over a file of `base` orders and one of
 * 4 × `base`, into fresh tables, in alternating rounds after a warm-up import. The live objects above
 * the start (`liveHeap`) are sampled after a collection the same number of times in each (25, spread
 * over the batches), so the larger file's peak is not the larger only for being sampled more often.
 * `whole` is the same peak of V8's whole heap, compiled code included, as information.
 */
export async function importHeapRounds(c: Campaign, dynamo: DynamoDBClientConfig, prefix: string, base: number, concurrency: number, step: (s: string) => void): Promise<ImportHeaps> {
  const dir = mkdtempSync(join(tmpdir(), 'renewal-bench-import-'));
  const heaps: ImportHeaps = { 1: [], 4: [], whole: { 1: [], 4: [] } };
  try {
    const files = { 1: join(dir, 'x1.ndjson'), 4: join(dir, 'x4.ndjson') };
    for (const k of [1, 4] as const)
      writeFileSync(
        files[k],
        benchOrders(c, base * k, `imp${k}`)
          .map((o) => `${JSON.stringify(o)}\n`)
          .join(''),
      );
    const measure = (k: 1 | 4, label: string) => importPeak(dynamo, `${prefix}-imp${label}`, files[k], base * k, Math.max(1, Math.ceil((base * k) / 10 / 25)), concurrency);
    step(`import heap: warm-up, a file of ${base} orders`);
    await measure(1, 'warm');
    for (let r = 1; r <= RATIO_ROUNDS; r++) {
      for (const k of r % 2 === 1 ? ([1, 4] as const) : ([4, 1] as const)) {
        step(`import heap: a file of ${base * k} orders, round ${r} of ${RATIO_ROUNDS}`);
        const peak = await measure(k, `${k}-${r}`);
        heaps[k].push(peak.objects);
        heaps.whole[k].push(peak.whole);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return heaps;
}

/** `importHeap4xVs1x`, and the whole heap's ratio as information: a file and one four times its size. */
export async function measureImportHeap(run: BenchRun): Promise<void> {
  const importBase = Math.max(2000, Math.round(run.io.orders / 8));
  const importHeaps = await importHeapRounds(run.campaign, run.dynamo, `bench-${run.tag}`, importBase, run.concurrency, run.step);
  const importRatios = importHeaps[1].map((h, i) => importHeaps[4][i]! / h);
  const importRatio = median(importRatios);
  const wholeRatios = importHeaps.whole[1].map((h, i) => importHeaps.whole[4][i]! / h);
  run.info.importWholeHeap4xVs1x = round(median(wholeRatios));
  run.metrics.importHeap4xVs1x = {
    value: round(importRatio),
    goal: '<= 1.2',
    ok: importRatio <= 1.2,
    detail: `peak live objects of renewal import above its start (V8's new, old and large-object spaces), median of ${RATIO_ROUNDS} rounds (spread ${spread(importRatios)}): ${mb(median(importHeaps[1]))} for ${importBase} orders, ${mb(median(importHeaps[4]))} for ${importBase * 4}; the whole heap, compiled code included, ${round(median(wholeRatios))} (${mb(median(importHeaps.whole[1]))}, ${mb(median(importHeaps.whole[4]))})`,
  };
}
