// Persistence of one member in one node:sqlite file: the member snapshot, the commit log and the
// KeyPackage store, written in one transaction per processed event so a crash leaves either the state
// before the event or the state after it.
import { DatabaseSync } from "node:sqlite";

/** What the node layer needs from storage. `:memory:` databases survive a simulated crash if kept. */
export interface MemberStore {
  /** The last saved snapshot, or undefined for a new member. */
  load(): Uint8Array | undefined;
  /** Atomically replaces the snapshot and appends commits and KeyPackages. */
  save(
    snapshot: Uint8Array,
    commits: readonly StoredCommit[],
    keyPackages: readonly StoredKeyPackage[],
  ): void;
  /** Stored commit bodies, oldest first. */
  commits(): StoredCommit[];
  /** The newest stored KeyPackage of every member. */
  keyPackages(): StoredKeyPackage[];
  close(): void;
}

export interface StoredCommit {
  readonly groupId: string;
  readonly epoch: bigint;
  readonly commit: Uint8Array;
}

export interface StoredKeyPackage {
  readonly memberId: string;
  readonly keyPackage: Uint8Array;
  readonly updatedAt: number;
}

/** The embedded default: one sqlite file (or `:memory:`). */
export class SqliteMemberStore implements MemberStore {
  readonly db: DatabaseSync;
  saves = 0;

  constructor(path = ":memory:") {
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS member (id INTEGER PRIMARY KEY CHECK (id = 1), snapshot BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS commits (
        group_id TEXT NOT NULL, epoch INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (group_id, epoch, body));
      CREATE TABLE IF NOT EXISTS key_packages (
        member_id TEXT PRIMARY KEY, key_package BLOB NOT NULL, updated_at INTEGER NOT NULL);
    `);
  }

  load(): Uint8Array | undefined {
    const row = this.db.prepare("SELECT snapshot FROM member WHERE id = 1").get() as
      | { snapshot: Uint8Array }
      | undefined;
    return row ? new Uint8Array(row.snapshot) : undefined;
  }

  save(
    snapshot: Uint8Array,
    commits: readonly StoredCommit[],
    keyPackages: readonly StoredKeyPackage[],
  ): void {
    const putMember = this.db.prepare("INSERT OR REPLACE INTO member (id, snapshot) VALUES (1, ?)");
    const putCommit = this.db.prepare(
      "INSERT OR IGNORE INTO commits (group_id, epoch, body) VALUES (?, ?, ?)",
    );
    const putKp = this.db.prepare(
      `INSERT INTO key_packages (member_id, key_package, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(member_id) DO UPDATE SET key_package = excluded.key_package, updated_at = excluded.updated_at
       WHERE excluded.updated_at >= key_packages.updated_at`,
    );
    this.db.exec("BEGIN IMMEDIATE");
    try {
      putMember.run(snapshot);
      for (const c of commits) putCommit.run(c.groupId, c.epoch, c.commit);
      for (const k of keyPackages) putKp.run(k.memberId, k.keyPackage, k.updatedAt);
      this.db.exec("COMMIT");
      this.saves++;
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  commits(): StoredCommit[] {
    const rows = this.db
      .prepare("SELECT group_id, epoch, body FROM commits ORDER BY group_id, epoch")
      .all() as { group_id: string; epoch: number; body: Uint8Array }[];
    return rows.map((r) => ({ groupId: r.group_id, epoch: BigInt(r.epoch), commit: new Uint8Array(r.body) }));
  }

  keyPackages(): StoredKeyPackage[] {
    const rows = this.db.prepare("SELECT member_id, key_package, updated_at FROM key_packages").all() as {
      member_id: string;
      key_package: Uint8Array;
      updated_at: number;
    }[];
    return rows.map((r) => ({
      memberId: r.member_id,
      keyPackage: new Uint8Array(r.key_package),
      updatedAt: r.updated_at,
    }));
  }

  close(): void {
    this.db.close();
  }
}
