/**
 * The public delisting notice's site (摘牌公示): a private bucket (versioned, encrypted, public access
 * blocked) read by the public only through CloudFront with origin access control, and the publish
 * function that writes each version into it. The response headers carry the pages' own
 * Content-Security-Policy (shared/pages/page.ts) plus what only a header can say.
 *
 * Its resources are created in the stack's scope, not under this construct, so that their logical ids
 * (the bucket's above all) stay those of a deployed stack (cdk/intake-pipeline.ts says why).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AllowedMethods, CachePolicy, Distribution, HeadersFrameOption, HeadersReferrerPolicy, HttpVersion, PriceClass, ResponseHeadersPolicy, ViewerProtocolPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '#shared/config.ts';
import { PAGE_CSP_HEADER } from '#shared/pages/page.ts';
import { FUNCTION_MEMORY_MB } from '#shared/sizing.ts';
import type { TableId } from '#shared/tables.ts';
import { PUBLISH_NEEDS } from '#shared/usecases/publish.ts';
import type { DeployConfig } from './config.ts';
import { RenewalFunction, type FunctionDefaults } from './function.ts';

export interface NoticeSiteProps {
  config: DeployConfig;
  tables: Record<TableId, ITable>;
  functions: FunctionDefaults;
}

export class NoticeSite extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** `https://<distribution domain>`: the pages are under `<campaign>/latest/` and `<campaign>/v<N>/`. */
  readonly baseUrl: string;
  /** Publishes the next version when the list of revoked providers changed. */
  readonly publish: RenewalFunction;

  /** `scope` is the stack: the resources are created in it (see the module comment). */
  constructor(scope: Construct, id: string, props: NoticeSiteProps) {
    super(scope, id);
    const { config } = props;
    this.bucket = new Bucket(scope, 'NoticeBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // A public record: deleting the stack leaves it (and every version) in place.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const headers = new ResponseHeadersPolicy(scope, 'NoticeResponseHeaders', {
      comment: `Provider renewal (${config.stage}): the delisting notice's security headers`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: PAGE_CSP_HEADER, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });
    this.distribution = new Distribution(scope, 'NoticeDistribution', {
      comment: `Provider renewal (${config.stage}): public delisting notice`,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        // Honours the objects' Cache-Control: a year for a version, 60 s for latest/.
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      // Readers are in mainland China and around it: the price class that includes Asian edges.
      priceClass: PriceClass.PRICE_CLASS_200,
    });
    this.baseUrl = `https://${this.distribution.distributionDomainName}`;

    this.publish = new RenewalFunction(scope, 'PublishFunction', {
      ...props.functions,
      entry: 'publish',
      description: 'Publishes the public delisting notice: the next version when the list of revoked providers changed',
      timeout: Duration.minutes(2),
      memorySize: FUNCTION_MEMORY_MB.publish,
    }).useStores(props.tables, PUBLISH_NEEDS, { notice: this.bucket });
    this.publish.addEnvironment(ENV.noticeBaseUrl, this.baseUrl);
    if (config.feedbackMailbox) this.publish.addEnvironment(ENV.feedbackMailbox, config.feedbackMailbox);
  }
}
