import type { Pruner } from '../core/pruner.js';

/** Never prunes. The default. */
export class NopPruner implements Pruner {
  prune(): boolean {
    return false;
  }
}
