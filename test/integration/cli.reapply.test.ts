import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `renewal reapply check | except` (OPS.md "Campaign and re-application commands") as a user runs
 * them: a separate process, its own embedded stack in a temporary `.local`, stdout parsed as the one
 * JSON document it must be. P1 has 1 order in renewal-2024; with --threshold 2 it is revoked.
 */
const BIN = resolve(import.meta.dirname, '../../bin/renewal.js');
const dir = mkdtempSync(join(tmpdir(), 'renewal-reapply-'));
const env = {
  ...process.env,
  RENEWAL_LOCAL_DIR: join(dir, '.local'),
  RENEWAL_DYNAMODB_PORT: '0',
  RENEWAL_SES_PORT: '0',
  RENEWAL_S3_PORT: '0',
  AWS_ENDPOINT_URL_DYNAMODB: '',
  AWS_ENDPOINT_URL_SES: '',
  AWS_ENDPOINT_URL_SESV2: '',
  AWS_ENDPOINT_URL_S3: '',
  THRESHOLD_ORDERS: '',
};
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
};
const FILE = join(dir, 'events.ndjson');
writeFileSync(
  FILE,
  [
    '{"type":"provider.upserted","providerId":"P1","name":"测试服务商","email":"p1@example.com","certifiedAt":"2023-06-01T00:00:00+08:00","regularizedAt":"2023-08-01T00:00:00+08:00"}',
    '{"type":"binding.started","providerId":"P1","storeId":"S1","at":"2023-01-01T00:00:00Z"}',
    '{"type":"order.paid","orderId":"O1","storeId":"S1","paidAt":"2023-12-05T10:00:00+08:00"}',
    '{"type":"deposit.paid","paymentId":"D1","providerId":"P1","amountFen":10000000,"paidAt":"2023-11-01T00:00:00Z"}',
  ].join('\n'),
);
afterAll(() => {
  run('local', 'down');
  rmSync(dir, { recursive: true, force: true });
});

describe('renewal reapply', () => {
  it('check answers as OPS.md shapes it, except records and withdraws, bad input exits 2 naming the flag', () => {
    expect(run('import', FILE, '--json').code).toBe(0);
    const evaluated = run('evaluate', '--campaign', 'renewal-2024', '--threshold', '2', '--json');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.json().counts).toEqual({ retained: 0, revoked: 1, not_assessed: 0 });

    const atTheInstant = run('reapply', 'check', '--provider', 'P1', '--at', '2024-05-30T00:00:00+08:00', '--json');
    expect(atTheInstant.code).toBe(0);
    expect(atTheInstant.json()).toEqual({
      providerId: 'P1',
      at: '2024-05-29T16:00:00.000Z',
      allowed: true,
      reapplyFrom: '2024-05-29T16:00:00.000Z',
      basis: { campaignId: 'renewal-2024', noticeDate: '2024-03-01', revision: 1 },
    });
    expect(run('reapply', 'check', '--provider', 'P1', '--at', '2024-05-29T15:59:59.999Z', '--json').json()).toMatchObject({ allowed: false });
    const text = run('reapply', 'check', '--provider', 'P1', '--at', '2024-04-01T00:00:00+08:00');
    expect(text.stdout).toMatch(/may apply/);
    expect(text.stdout).toMatch(/2024-05-30 00:00 \(UTC\+8\)/);
    expect(text.stdout).toMatch(/renewal-2024 revoked, notice 2024-03-01, revision 1/);

    const granted = run('reapply', 'except', '--provider', 'P1', '--reason', '申诉成立', '--by', 'ops-li', '--json');
    expect(granted.code, granted.stderr).toBe(0);
    expect(Object.keys(granted.json()).sort()).toEqual(['at', 'by', 'kind', 'providerId', 'reason', 'recordId']);
    expect(granted.json()).toMatchObject({ providerId: 'P1', kind: 'granted', by: 'ops-li', reason: '申诉成立' });
    const withdrawn = run('reapply', 'except', '--provider', 'P1', '--reason', 'reversed', '--by', 'ops-wang', '--withdraw', '--json');
    expect(withdrawn.json()).toMatchObject({ kind: 'withdrawn', by: 'ops-wang' });
    const again = run('reapply', 'except', '--provider', 'P1', '--reason', 'again', '--by', 'ops-wang', '--withdraw');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no exception that stands/);

    const noOffset = run('reapply', 'check', '--provider', 'P1', '--at', '2024-04-01T00:00:00', '--json');
    expect(noOffset.code).toBe(2);
    expect(noOffset.stderr).toMatch(/--at: must be an ISO-8601 instant with an offset/);
    const blank = run('reapply', 'except', '--provider', 'P1', '--reason', '  ', '--by', 'ops');
    expect(blank.code).toBe(2);
    expect(blank.stderr).toMatch(/--reason: must say why/);
    const badId = run('reapply', 'check', '--provider', 'P 1');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/--provider: must be 1 to 128 characters/);
  }, 240_000); // a dozen processes, each starting the command
});
