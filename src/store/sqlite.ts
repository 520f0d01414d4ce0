// Persistence of one member in one node:sqlite file: the member snapshot, the commit log and the
// KeyPackage store, written in one transaction per processed event so a crash leaves either the state
// before the event or the state after it.
import { randomBytes } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { DemlsError } from "../util/errors.ts";
import { lockDataFile } from "./lock.ts";

/**
 * Codes of the errors a store raises: `STORE_UNREADABLE` (not a member store, or damaged) and
 * `STORE_LOCKED` (another live process holds the data file).
 */
export type StoreErrorCode = "STORE_UNREADABLE" | "STORE_LOCKED";

/** What the node layer needs from storage. `:memory:` databases survive a simulated crash if kept. */
export interface MemberStore {
  /** The last saved snapshot, or undefined for a new member. */
  load(): Uint8Array | undefined;
  /**
   * Atomically replaces the snapshot, appends commits, upserts KeyPackage sets (a newer version wins) and
   * deletes the sets of `removedMembers`.
   */
  save(
    snapshot: Uint8Array,
    commits: readonly StoredCommit[],
    keyPackageSets: readonly StoredKeyPackageSetRow[],
    removedMembers?: readonly string[],
  ): void;
  /** Stored commit bodies, oldest first. */
  commits(): StoredCommit[];
  /** The KeyPackage store: the newest set of every member. */
  keyPackageSets(): StoredKeyPackageSetRow[];
  close(): void;
}

export interface StoredCommit {
  readonly groupId: string;
  readonly epoch: bigint;
  readonly commit: Uint8Array;
}

/** One member's KeyPackage set, encoded as proto/group.proto `KeyPackageSet`. */
export interface StoredKeyPackageSetRow {
  /** Hex member id. */
  readonly memberId: string;
  readonly set: Uint8Array;
  readonly version: bigint;
}

/** The embedded default: one sqlite file (or `:memory:`). */
export class SqliteMemberStore implements MemberStore {
  readonly db: DatabaseSync;
  saves = 0;
  private readonly unlock: () => void;

  /**
   * Opens (or creates) the store in `path`, held by this process alone until {@link close}.
   * @throws {DemlsError} `STORE_LOCKED` when another running process holds `path` (the message names it);
   * `STORE_UNREADABLE` when `path` is not a member store (another file, damaged).
   */
  constructor(path = ":memory:") {
    this.unlock = path === ":memory:" ? () => {} : lockDataFile(path);
    try {
      // Loaded when a store is made, not when the library is imported: an application that keeps its
      // members in memory does not need node:sqlite.
      const { DatabaseSync: Database } = process.getBuiltinModule(
        "node:sqlite",
      ) as typeof import("node:sqlite");
      this.db = new Database(path);
      this.init();
    } catch (e) {
      this.unlock();
      throw new DemlsError(
        "STORE_UNREADABLE",
        `${path} is not a readable member store: ${(e as Error).message}`,
      );
    }
  }

  private init(): void {
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS member (id INTEGER PRIMARY KEY CHECK (id = 1), snapshot BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS commits (
        group_id TEXT NOT NULL, epoch INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (group_id, epoch, body));
      CREATE TABLE IF NOT EXISTS key_package_sets (
        member_id TEXT PRIMARY KEY, body BLOB NOT NULL, version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS node_identity (id INTEGER PRIMARY KEY CHECK (id = 1), seed BLOB NOT NULL);
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
    keyPackageSets: readonly StoredKeyPackageSetRow[],
    removedMembers: readonly string[] = [],
  ): void {
    const putMember = this.db.prepare("INSERT OR REPLACE INTO member (id, snapshot) VALUES (1, ?)");
    const putCommit = this.db.prepare(
      "INSERT OR IGNORE INTO commits (group_id, epoch, body) VALUES (?, ?, ?)",
    );
    const putSet = this.db.prepare(
      `INSERT INTO key_package_sets (member_id, body, version) VALUES (?, ?, ?)
       ON CONFLICT(member_id) DO UPDATE SET body = excluded.body, version = excluded.version
       WHERE excluded.version >= key_package_sets.version`,
    );
    const dropSet = this.db.prepare("DELETE FROM key_package_sets WHERE member_id = ?");
    this.db.exec("BEGIN IMMEDIATE");
    try {
      putMember.run(snapshot);
      for (const c of commits) putCommit.run(c.groupId, c.epoch, c.commit);
      for (const k of keyPackageSets) putSet.run(k.memberId, k.set, k.version);
      for (const id of removedMembers) dropSet.run(id);
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

  keyPackageSets(): StoredKeyPackageSetRow[] {
    const rows = this.db
      .prepare("SELECT member_id, body, version FROM key_package_sets ORDER BY member_id")
      .all() as { member_id: string; body: Uint8Array; version: number | bigint }[];
    return rows.map((r) => ({
      memberId: r.member_id,
      set: new Uint8Array(r.body),
      version: BigInt(r.version),
    }));
  }

  /**
   * The network identity of the node this member runs on (a 32-byte seed: `Libp2pOptions.identity`),
   * created on first use and kept: a restarted node has the same peer id.
   */
  nodeIdentity(): Uint8Array {
    const row = this.db.prepare("SELECT seed FROM node_identity WHERE id = 1").get() as
      | { seed: Uint8Array }
      | undefined;
    if (row !== undefined) return new Uint8Array(row.seed);
    const seed = new Uint8Array(randomBytes(32));
    this.db.prepare("INSERT INTO node_identity (id, seed) VALUES (1, ?)").run(seed);
    return seed;
  }

  /** Closes the database and releases the data file. */
  close(): void {
    try {
      this.db.close();
    } finally {
      this.unlock();
    }
  }
}
