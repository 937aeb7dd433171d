export * from './time.ts';
export * from './campaign.ts';
export * from './rules.ts';
export * from './progress.ts';
export * from './seasons.ts';
export * from './reapply.ts';
