// A storage service that backs the KeyPackage store (docs/architecture.md, "KeyPackage store"): members publish their own set to
// it and fetch the sets of roster members from it, in addition to syncing them among themselves. The
// service sees public KeyPackages only; members check every set they fetch as if a peer had sent it.

/** What a member needs from a KeyPackage storage service. Sets are proto/group.proto `KeyPackageSet`s. */
export interface KeyPackageService {
  /** Stores a member's set; an older `version` than the stored one is ignored. */
  publish(memberId: string, version: bigint, set: Uint8Array): Promise<void>;
  /** The newest stored sets of the given members (hex ids); members it holds nothing for are skipped. */
  fetch(memberIds: readonly string[]): Promise<Uint8Array[]>;
}

/** An in-process service: for tests, and as the model a networked one follows. */
export class MemoryKeyPackageService implements KeyPackageService {
  private readonly sets = new Map<string, { version: bigint; set: Uint8Array }>();
  publishes = 0;
  fetches = 0;

  async publish(memberId: string, version: bigint, set: Uint8Array): Promise<void> {
    this.publishes++;
    const cur = this.sets.get(memberId);
    if (cur === undefined || cur.version < version) this.sets.set(memberId, { version, set });
  }

  async fetch(memberIds: readonly string[]): Promise<Uint8Array[]> {
    this.fetches++;
    return memberIds.flatMap((id) => {
      const s = this.sets.get(id);
      return s ? [s.set] : [];
    });
  }

  /** Members (hex ids) it holds a set for. */
  members(): string[] {
    return [...this.sets.keys()].sort();
  }
}
