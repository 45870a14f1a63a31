export { createProcessManager } from './process-manager.js';
export { codeSha256 } from './code-hash.js';
export { createTiers, SANDBOX_SETTINGS } from './tiers.js';
export type { SandboxSetting, TierReport } from './tiers.js';
export { ProcessError } from './errors.js';
export type { ProcessErrorCode } from './errors.js';
export { SQL_DATABASE_FILE } from './runners.js';
export * from './types.js';
