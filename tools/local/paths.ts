/** Where the embedded stack keeps its state and data: `.local/` of this checkout, or RENEWAL_LOCAL_DIR. */
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
export const LOCAL_DIR = process.env.RENEWAL_LOCAL_DIR ? resolve(process.env.RENEWAL_LOCAL_DIR) : join(PROJECT_ROOT, '.local');
