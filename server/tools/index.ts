export { createProcessManager } from './process-manager.js';
export { ProcessError } from './errors.js';
export type { ProcessErrorCode } from './errors.js';
export { SQL_DATABASE_FILE } from './runners.js';
export * from './types.js';
