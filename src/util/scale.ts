// Timer parameters scaled by one factor: every numeric field whose name ends in `Ms`, nested objects too.

/**
 * `params` with every duration (a numeric field named `...Ms`, at any depth) multiplied by `factor`. For
 * running the scaled-down timers where processing is slower than the simulator assumes (many members
 * sharing one machine's cores), or the spec's timers faster.
 */
export function scaleTimers<T extends object>(params: T, factor: number): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params))
    out[k] =
      typeof v === "number" && k.endsWith("Ms")
        ? Math.round(v * factor)
        : v !== null && typeof v === "object" && !Array.isArray(v)
          ? scaleTimers(v, factor)
          : v;
  return out as T;
}
