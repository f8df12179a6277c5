// How a task-file reader's failure on damaged bytes is said (Parquet, Arrow).

/**
 * What a reader's failure says about the file: its own message (hyparquet's "footer != PAR1", a
 * page check's, apache-arrow's), or, where JavaScript itself failed inside the decoder on damaged
 * bytes (a TypeError or RangeError: "Cannot read properties of undefined"), that `part` is damaged.
 */
export function damage(e: unknown, part: string, own: (message: string) => string = (m) => m): string {
  const internal = e instanceof TypeError || (e instanceof RangeError && !/allocation failed/.test(e.message));
  return internal ? `${part} is damaged` : own((e as Error).message);
}
