import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { renderReportPage } from '#shared/pages/report-page.ts';
import type { Campaign } from '#shared/rules/campaign.ts';
import type { Report } from '#shared/usecases/report.ts';

/** Writes the report page (`renewal report --html FILE`, `.local/report.html`); returns its absolute path. */
export async function writeReportPage(file: string, report: Report, campaign: Campaign, byDay: Record<string, number>): Promise<string> {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderReportPage({ report, campaign, byDay, generatedAt: new Date().toISOString() }));
  return path;
}
