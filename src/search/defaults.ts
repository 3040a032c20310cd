/** Defaults of the size search that the CLI shows before loading the search itself. */

/**
 * Trials by default: 300 take about 30 s on 2 cores on a small dataset (digits); on a large one
 * (Fashion-MNIST) 60 took 4 min 51 s, pruning included.
 */
export const SIZE_SEARCH_TRIALS = { small: 300, large: 60 } as const;

/** Above this many training samples a dataset is large: fewer epochs and trials by default. */
export const LARGE_DATASET = 20_000;

/** Shares of the data the size search holds out (a dataset with its own test part keeps it). */
export const SIZE_SEARCH_SPLIT = { validation: 0.2, test: 0.2 } as const;

/**
 * Samplers of the size search: those of the registry that handle two objectives and define-by-run
 * spaces (cmaes and gp model continuous spaces, grid needs a declared space, qmc ignores the results).
 */
export const SIZE_SEARCH_SAMPLERS = ['tpe', 'nsga2', 'random', 'aging-evolution', 'reinforce'] as const;
