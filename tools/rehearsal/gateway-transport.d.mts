/** Types of gateway-transport.mjs (plain JavaScript, as the Lambda-like runtime that loads it). */
import type { Buffer } from 'node:buffer';

export interface HandedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HandedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | Uint8Array | string;
}

export function routeToGateway(
  httpModule: { request: (...args: never[]) => unknown },
  o: { host: string; port: number | string; exchange: (request: HandedRequest) => Promise<HandedResponse> },
): () => void;

export function headersAsReceived(options: { headers?: Record<string, unknown>; host?: string; hostname?: string; port?: number | string; agent?: { keepAlive?: boolean } }): Record<string, string>;

export function toBuffer(body: unknown): Buffer;
