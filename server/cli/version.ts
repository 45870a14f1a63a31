/** The `cog` version; a module of its own so that `cog --version` imports nothing else. */
export const VERSION = '0.1.0';
