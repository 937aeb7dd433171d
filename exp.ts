import { useLocalStack } from '#cli/local-stack.ts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
await useLocalStack();
const { createDocumentClient } = await import('#shared/aws.ts');
const { BatchGetCommand } = await import('@aws-sdk/lib-dynamodb');
const { BatchGetItemCommand } = await import('@aws-sdk/client-dynamodb');
const mk = (v: string) => createDocumentClient(v === 'agent' ? { requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 50 }) }) } : {});
const clients = { default: mk('default'), agent: mk('agent'), raw: mk('default') };
for (const round of [1, 2]) for (const variant of ['default', 'agent', 'raw'] as const) {
  const db = clients[variant];
  const t = performance.now(); const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 8 }, async (_, w) => { for (let i = 0; i < 250; i++) {
    if (variant === 'raw') await db.send(new BatchGetItemCommand({ RequestItems: { 'renewal-local-orders': { Keys: Array.from({ length: 10 }, (_, k) => ({ orderId: { S: `O${w}-${i}-${k}` } })) } } }));
    else await db.send(new BatchGetCommand({ RequestItems: { 'renewal-local-orders': { Keys: Array.from({ length: 10 }, (_, k) => ({ orderId: `O${w}-${i}-${k}` })) } } }));
  } }));
  const c = process.cpuUsage(c0);
  console.log(round, variant, 'wall', (performance.now() - t).toFixed(0), 'cpu ms', ((c.user + c.system) / 1000).toFixed(0), 'per req', ((c.user + c.system) / 1000 / 2000).toFixed(2));
}
