// One writer per data file: a member store on disk is held by one process at a time. A lock file beside
// it (`<file>.lock`) names the process holding it; a second process is refused at once, and a lock left
// by a process that died is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { DemlsError } from "../util/errors.ts";

/** What a lock file says. */
interface LockInfo {
  readonly pid: number;
  readonly since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(lockPath: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(lockPath, "utf8")) as Partial<LockInfo>;
    return Number.isInteger(info.pid) && (info.pid as number) > 0
      ? { pid: info.pid as number, since: String(info.since) }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `path` for this process; returns the function that releases it.
 * @throws {DemlsError} `STORE_LOCKED` when another live process holds it (the message names the file and
 * the process).
 */
export function lockDataFile(path: string): () => void {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = readLock(lockPath);
      if (holder !== undefined && alive(holder.pid))
        throw new DemlsError(
          "STORE_LOCKED",
          `${path} is in use by process ${holder.pid} (since ${holder.since}): stop that process first, or use another data file`,
        );
      // Left by a process that is gone (or unreadable): take it over.
      unlinkSync(lockPath);
      continue;
    }
    writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
    closeSync(fd);
    return () => {
      if (readLock(lockPath)?.pid === process.pid) unlinkSync(lockPath);
    };
  }
  throw new DemlsError("STORE_LOCKED", `${path}: its lock file ${lockPath} could not be taken`);
}
