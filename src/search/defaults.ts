/** Defaults of the size search that the CLI shows before loading the search itself. */
export const SIZE_SEARCH_TRIALS = 300;
