/** Selection: subsets and their parameters, the predictor and exact optimiser, baselines, budget advice. */
export * from './subsets';
export * from './predict';
export * from './baselines';
export * from './curve';
export * from './select';
