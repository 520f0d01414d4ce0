// Debug logging by namespace, in the convention libp2p and js-waku use: `DEBUG=demls:*` turns on every
// demls namespace, `DEBUG=demls:member:alice,demls:rejected` some, `-demls:sync` turns one off. Lines go to
// stderr as `namespace +Δms message`. Off by default; a disabled logger costs one check per call.

/** Writes a debug line, when its namespace is enabled. */
export type Logger = ((message: string) => void) & { readonly enabled: boolean };

interface Rule {
  readonly re: RegExp;
  readonly on: boolean;
}

function rules(spec: string): Rule[] {
  return spec
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((p) => {
      const on = !p.startsWith("-");
      const body = on ? p : p.slice(1);
      const re = new RegExp(`^${body.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
      return { re, on };
    });
}

/** Whether `namespace` is enabled by the `DEBUG` value `spec` (the last matching rule wins). */
export function debugEnabled(namespace: string, spec = process.env.DEBUG ?? ""): boolean {
  let enabled = false;
  for (const r of rules(spec)) if (r.re.test(namespace)) enabled = r.on;
  return enabled;
}

/** A logger for `namespace` (e.g. `demls:member:alice`); `write` defaults to stderr. */
export function logger(
  namespace: string,
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Logger {
  const enabled = debugEnabled(namespace);
  let last = Date.now();
  const log = (message: string) => {
    if (!enabled) return;
    const now = Date.now();
    write(`${namespace} +${now - last}ms ${message}`);
    last = now;
  };
  return Object.assign(log, { enabled });
}
