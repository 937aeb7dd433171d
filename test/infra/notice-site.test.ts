/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation properties are read as the template holds them. */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PAGE_CSP, PAGE_CSP_HEADER, PAGE_CSS } from '#shared/pages/page.ts';
import { createHash } from 'node:crypto';
import { OUTPUTS } from '../../cdk/names.ts';
import { logicalId, synth } from './synth.ts';

/**
 * The public delisting notice's site: a private bucket read only through CloudFront with origin
 * access control, the pages' Content-Security-Policy as a response header, HTTPS only, and the public
 * URL as a stack output.
 */
const s = synth();
const t = s.appTemplate;
const bucketId = logicalId(s.stack.notice.bucket);
const distributionId = logicalId(s.stack.notice.distribution);
type Dist = { Properties: { DistributionConfig: Record<string, any> } };
const dist = () => (t.findResources('AWS::CloudFront::Distribution')[distributionId] as Dist).Properties.DistributionConfig;

describe('notice bucket', () => {
  it('is private (every public access blocked), versioned, encrypted, owner-enforced and retained', () => {
    const b = t.findResources('AWS::S3::Bucket')[bucketId] as { Properties: Record<string, unknown>; DeletionPolicy: string };
    expect(b.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(b.DeletionPolicy).toBe('Retain');
    expect(b.Properties.WebsiteConfiguration).toBeUndefined(); // not a public website endpoint
  });

  it('its policy lets CloudFront (this distribution only) read, and refuses requests without TLS', () => {
    const policies = Object.values(t.findResources('AWS::S3::BucketPolicy')) as { Properties: { Bucket: unknown; PolicyDocument: { Statement: any[] } } }[];
    const mine = policies.filter((p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: bucketId }));
    expect(mine).toHaveLength(1);
    const st = mine[0]!.Properties.PolicyDocument.Statement;
    const read = st.filter((x) => x.Effect === 'Allow');
    expect(read).toHaveLength(1);
    expect(read[0]).toMatchObject({ Action: 's3:GetObject', Principal: { Service: 'cloudfront.amazonaws.com' } });
    expect(JSON.stringify(read[0].Condition)).toContain(distributionId);
    expect(st.some((x) => x.Effect === 'Deny' && JSON.stringify(x.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }))).toBe(true);
  });
});

describe('notice distribution', () => {
  it('reads the bucket through origin access control (no legacy identity), HTTPS only, GET and HEAD only', () => {
    const d = dist();
    expect(d.Enabled).toBe(true);
    expect(d.Origins).toHaveLength(1);
    expect(d.Origins[0].OriginAccessControlId).toBeDefined();
    expect(d.Origins[0].S3OriginConfig.OriginAccessIdentity).toBe('');
    expect(d.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(d.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    t.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
  });

  it("sends the pages' Content-Security-Policy (their stylesheet by hash, no script, no framing) and the other security headers", () => {
    const policyId = dist().DefaultCacheBehavior.ResponseHeadersPolicyId.Ref;
    const p = (t.findResources('AWS::CloudFront::ResponseHeadersPolicy')[policyId] as { Properties: { ResponseHeadersPolicyConfig: { SecurityHeadersConfig: any } } }).Properties
      .ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp: string = p.ContentSecurityPolicy.ContentSecurityPolicy;
    expect(csp).toBe(PAGE_CSP_HEADER);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toMatch(/script-src/);
    // The hash is the hash of the stylesheet the pages carry, computed here independently.
    expect(csp).toContain(`'sha256-${createHash('sha256').update(PAGE_CSS).digest('base64')}'`);
    expect(PAGE_CSP_HEADER.startsWith(PAGE_CSP)).toBe(true);
    expect(p).toMatchObject({
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
      StrictTransportSecurity: { AccessControlMaxAgeSec: 31_536_000, IncludeSubdomains: true, Override: true },
    });
  });
});

describe('notice outputs', () => {
  it('give the bucket, the public base URL and the stable URL of the newest version', () => {
    const outputs = t.findOutputs('*');
    const domain = { 'Fn::GetAtt': [distributionId, 'DomainName'] };
    expect(outputs[OUTPUTS.noticeBucketName]?.Value).toEqual({ Ref: bucketId });
    expect(outputs[OUTPUTS.noticeBaseUrl]?.Value).toEqual({ 'Fn::Join': ['', ['https://', domain]] });
    expect(outputs[OUTPUTS.noticeUrl('renewal-2024')]?.Value).toEqual({ 'Fn::Join': ['', ['https://', domain, '/renewal-2024/latest/index.html']] });
  });

  it('the publish function is an output like the others, and its failed asynchronous runs land in the schedule dead-letter queue', () => {
    expect(t.findOutputs('*')[OUTPUTS.functionName('publish')]?.Value).toEqual({ Ref: logicalId(s.stack.functions.publish) });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(s.stack.functions.publish) },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(s.stack.seasonJobs.deadLetterQueue), 'Arn'] } } },
      MaximumRetryAttempts: 2,
    });
    t.hasResourceProperties('AWS::CloudFront::Distribution', Match.anyValue());
  });
});
