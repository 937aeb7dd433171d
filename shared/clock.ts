/** Time as the use cases see it: handed in, so a test moves it and nothing waits for real. */
export interface Clock {
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
};
