import { config } from 'zod';

// Zod compiles object parsers with `new Function` when it may; under the page's CSP it may
// not, and each probe would be reported as a violation. Interpret instead.
config({ jitless: true });
