export * from './time.ts';
export * from './campaign.ts';
export * from './rules.ts';
