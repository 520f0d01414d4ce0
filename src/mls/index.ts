/**
 * `mls/`: the only module that imports ts-mls (RFC 9420). A small typed API over immutable group values:
 * identities and KeyPackages, create/commit/join/process/encrypt, the state fingerprint and its history,
 * retained epochs for rewinding, and serialization for the store.
 * @module
 */

export { restoreGroup, restoreKeyPackage, serializeGroup, serializeKeyPackage } from "./codec.ts";
export { seedMlsRandomness } from "./crypto.ts";
export { isFutureEpoch, type MlsErrorCode, MlsProtocolError } from "./errors.ts";
export {
  ancestry,
  DEFAULT_HISTORY,
  type EpochFingerprint,
  type FingerprintHistory,
  fingerprintAt,
  type Relation,
  relation,
} from "./fingerprint.ts";
export {
  type CommitOutput,
  type CommitPolicy,
  type CommitRequest,
  commit,
  createGroup,
  DEFAULT_GROUP_OPTIONS,
  diagnostics,
  encrypt,
  exporterValue,
  exportSecret,
  FINGERPRINT_LABEL,
  fingerprintFrom,
  isActive,
  joinFromWelcome,
  type MessageHeader,
  type Processed,
  peek,
  processMessage,
} from "./group.ts";
export {
  createIdentity,
  generateKeyPackages,
  type Identity,
  type KeyPackageBundle,
  type KeyPackageInfo,
  readKeyPackage,
  sign,
  verify,
} from "./identity.ts";
export { DEFAULT_RETAINED_EPOCHS, retainedEpochs, rewind } from "./retention.ts";
export { type RosterMember, roster, rosterMember } from "./roster.ts";
export { sharedOpen, shareStateAcrossMembers } from "./share.ts";
export type { GroupOptions, MlsGroup, RetainedEpoch } from "./types.ts";
