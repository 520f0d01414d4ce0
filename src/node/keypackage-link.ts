// A storage service behind the KeyPackage store: a member's own sets go to it as they are published, and
// on joining a group the roster members' sets come from it (checked like a peer's).
import { decodeKeyPackageSet, encodeKeyPackageSet } from "../group/frames.ts";
import { toWire } from "../group/keypackage-store.ts";
import type { GroupMember } from "../group/member.ts";
import type { KeyPackageService } from "../store/keypackage-service.ts";
import type { SyncEffect } from "../sync/effects.ts";
import { toHex } from "../util/bytes.ts";

/**
 * What effect `e` asks of the service: publish our new set, or (on joining) fetch the roster's sets and
 * import them through `enqueue` (an input of the member like any other). Service errors are ignored: the
 * members' own gossip fills the store too.
 */
export function linkKeyPackageService(
  service: KeyPackageService,
  e: SyncEffect,
  group: GroupMember,
  enqueue: (step: (now: number) => Promise<SyncEffect[]>) => Promise<void>,
): void {
  if (e.type === "keyPackageSet") {
    void service
      .publish(toHex(e.set.member), e.set.version, encodeKeyPackageSet(toWire(e.set)))
      .catch(() => {});
    return;
  }
  void service
    .fetch(group.rosterIds().map(toHex))
    .then((sets) =>
      enqueue(async (now) => {
        const decoded = sets.flatMap((b) => {
          try {
            return [decodeKeyPackageSet(b)];
          } catch {
            return [];
          }
        });
        return group.importKeyPackageSets(decoded, now);
      }),
    )
    .catch(() => {});
}
