import type { Host } from '../host.js';
import type { ProcessRegistry } from '../processes.js';
import type { Ticker } from '../ticker.js';

/** What a control renderer may use: the way out, the processes, the shared clock. */
export interface ControlContext {
  host: Host;
  processes: ProcessRegistry;
  ticker: Ticker;
}
