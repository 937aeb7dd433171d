import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../cdk/app.ts';
import { nagAcknowledgments } from '../../cdk/nag.ts';
import { CDK_JSON_CONTEXT, MAIL_FROM } from './synth.ts';

/**
 * cdk-nag v3 (a validation plugin, `Validations.of(app).addPlugins`) with the AwsSolutions pack:
 * nothing may be left unexplained, and every acknowledgment must answer a finding that really occurs.
 */
const CONFIGS: Record<string, Record<string, string>> = {
  default: {},
  everything: {
    stage: 'prod',
    tracing: 'true',
    senderIdentity: 'domain',
    alarmEmail: 'ops@example.com',
    mailReplyTo: 'renewal@example.com',
    sandboxRecipients: 'tester@example.org',
    thresholdOrders: '12000',
  },
  'without schedules': { seasonSchedules: 'false' },
};

const build = (context: Record<string, string>, acknowledge: boolean) => {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, mailFrom: MAIL_FROM, bundling: 'false', ...context } });
  const built = buildApp(app, { nag: false, acknowledge, now: new Date('2023-11-01T00:00:00Z') });
  return { app, built };
};
const findings = (app: App) => new AwsSolutionsChecks().validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));

describe.each(Object.entries(CONFIGS))('cdk-nag AwsSolutions, %s configuration', (_name, context) => {
  it('leaves no finding unacknowledged', () => {
    expect(findings(build(context, true).app)).toEqual([]);
  });

  it('acknowledges exactly the findings that occur, each with a specific reason', () => {
    const { app, built } = build(context, false);
    const acks = nagAcknowledgments(built.stack, built.config);
    const acknowledged = acks.map((a) => `${a.id} ${a.construct.node.defaultChild?.node.path ?? a.construct.node.path}`);
    // A role's findings sit on its default policy.
    const normalized = findings(app).map((f) => f.replace(/\/DefaultPolicy\/Resource$/, '/Resource'));
    expect(normalized.sort()).toEqual(acknowledged.sort());
    for (const a of acks) expect(a.reason.length, a.id).toBeGreaterThan(60);
  });
});
