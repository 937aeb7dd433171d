/**
 * The SDK client settings of a test's child process (test/support/*-child.ts), from what its parent
 * passed (`childEnv` in stack.ts): the run's embedded stack, a region, test credentials.
 */
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const need = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: start this child with childEnv() (test/support/stack.ts)`);
  return v;
};

export const childClients = () => ({
  dynamodb: { endpoint: need('CHILD_DYNAMODB'), region: 'ap-southeast-1', credentials },
  ses: { endpoint: need('CHILD_SES'), region: 'ap-southeast-1', credentials },
});
