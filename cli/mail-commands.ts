// Replaced by the notify slice (issue 5).
export async function sendDueMail(_p: { campaignId: string; kind: 'outcome' | 'progress' }, _io: unknown): Promise<undefined> {
  return undefined;
}
export function mailStatusLookup(_deps: unknown) {
  return undefined;
}
