import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { buildApp, type RenewalApp } from '../../cdk/app.ts';
import type { CampaignRegistry } from '#shared/campaigns.ts';
import { PROJECT_ROOT } from '../../cdk/function.ts';

/** The sender every test deployment uses: mailFrom is required and has no default. */
export const MAIL_FROM = 'noreply@renewal.example.com';

/** The context cdk.json gives `npx cdk`, so in-process apps see the same feature flags. */
export const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

export interface Synth extends RenewalApp {
  dataTemplate: Template;
  appTemplate: Template;
}

/**
 * Builds the app in-process with `context` on top of cdk.json's, without bundling (a placeholder
 * handler: these tests read templates, not code) and without cdk-nag (test/infra/nag.test.ts runs it).
 * A clock before the seasons keeps the "season in the past" warning out. `campaigns`: other campaign
 * files than the repository's (campaigns/).
 */
export function synth(context: Record<string, unknown> = {}, opts: { outdir?: string; campaigns?: CampaignRegistry; now?: Date } = {}): Synth {
  const app = new App({
    context: { ...CDK_JSON_CONTEXT, mailFrom: MAIL_FROM, bundling: 'false', ...context },
    ...(opts.outdir ? { outdir: opts.outdir } : {}),
  });
  const built = buildApp(app, { nag: false, now: opts.now ?? new Date('2023-11-01T00:00:00Z'), ...(opts.campaigns ? { campaigns: opts.campaigns } : {}) });
  return { ...built, dataTemplate: Template.fromStack(built.data), appTemplate: Template.fromStack(built.stack) };
}

/** The logical id of a construct's CloudFormation resource (its default child for L2s). */
export function logicalId(construct: IConstruct): string {
  const cfn = (construct.node.defaultChild ?? construct) as CfnFunction;
  return Stack.of(construct).getLogicalId(cfn);
}

export type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

/** Every statement of the identity policies attached to the role with logical id `roleId`. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const statements: Statement[] = [];
  for (const p of Object.values(policies) as { Properties: { Roles: unknown[]; PolicyDocument: { Statement: Statement[] } } }[]) {
    if (p.Properties.Roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) statements.push(...p.Properties.PolicyDocument.Statement);
  }
  return statements;
}

export const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
