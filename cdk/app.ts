/**
 * The CDK app (`cdk.json` runs it with `npx tsx cdk/app.ts`): the stateful DataStack and the stateless
 * AppStack of one stage, checked by cdk-nag's AwsSolutions pack on every synth.
 *
 * Context `bundling=false` replaces the function code with a placeholder (template-only tests).
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { campaignRegistry, type CampaignRegistry } from '#shared/campaigns.ts';
import { AppStack } from './app-stack.ts';
import { readConfig, type DeployConfig } from './config.ts';
import { DataStack } from './data-stack.ts';
import { acknowledgeNagFindings } from './nag.ts';
import { appStackName, dataStackName } from './names.ts';

export interface RenewalApp {
  app: App;
  config: DeployConfig;
  data: DataStack;
  stack: AppStack;
}

/**
 * Builds both stacks. Env-agnostic on purpose (no account or region): synth needs no credentials, and
 * `cdk deploy` takes them from the profile it runs with.
 */
export function buildApp(app: App, opts: { bundle?: boolean; now?: Date; nag?: boolean; acknowledge?: boolean; campaigns?: CampaignRegistry } = {}): RenewalApp {
  const config = readConfig((key) => app.node.tryGetContext(key));
  const bundling = app.node.tryGetContext('bundling');
  const bundle = opts.bundle ?? !(bundling === false || bundling === 'false');
  const data = new DataStack(app, 'Data', { stackName: dataStackName(config.stage), stage: config.stage });
  const stack = new AppStack(app, 'App', {
    stackName: appStackName(config.stage),
    config,
    tables: data.tables,
    bundle,
    // The campaign files of this checkout (RENEWAL_CAMPAIGNS_DIR, else campaigns/), read now and bundled.
    campaigns: opts.campaigns ?? campaignRegistry(),
    ...(opts.now ? { now: opts.now } : {}),
  });
  // cfn-lint's resource specification has no Tags on a CloudWatch dashboard: leave it untagged.
  const untagged = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
  Tags.of(app).add('project', 'provider-renewal', untagged);
  Tags.of(app).add('stage', config.stage, untagged);
  if (opts.acknowledge ?? true) acknowledgeNagFindings(stack, config);
  if (opts.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, data, stack };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = new App();
  try {
    buildApp(app);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  app.synth();
}
