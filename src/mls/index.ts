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
  builtOn,
  type CommitOutput,
  type CommitRequest,
  commit,
  createGroup,
  encrypt,
  enterOwnCommit,
  joinFromWelcome,
} from "./group.ts";
export {
  DEFAULT_GROUP_OPTIONS,
  diagnostics,
  exporterValue,
  exportSecret,
  FINGERPRINT_LABEL,
  fingerprintFrom,
  isActive,
} from "./group-value.ts";
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
export { type CommitPolicy, type MessageHeader, type Processed, peek, processMessage } from "./incoming.ts";
export { DEFAULT_RETAINED_EPOCHS, retainedEpochs, rewind } from "./retention.ts";
export { type RosterMember, roster, rosterMember } from "./roster.ts";
export { sharedOpen, shareStateAcrossMembers } from "./share.ts";
export type { GroupOptions, MlsGroup, RetainedEpoch } from "./types.ts";
