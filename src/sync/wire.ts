// Codecs of proto/sync.proto.
import { sha256 } from "@noble/hashes/sha2.js";
import { type Decoded, decode, encode } from "../util/schema.ts";

const EpochFp = { epoch: [1, "u64"], fingerprint: [2, "bytes"] } as const;
const ChatCount = { sender: [1, "bytes"], sequence: [2, "u64"] } as const;
export const SyncEnvelopeSchema = {
  keyId: [1, "bytes"],
  nonce: [2, "bytes"],
  ciphertext: [3, "bytes"],
} as const;
export const SyncStateInfoSchema = {
  groupId: [1, "bytes"],
  memberId: [2, "bytes"],
  epoch: [3, "u64"],
  fingerprint: [4, "bytes"],
  seqnum: [5, "u64"],
  ancestry: [6, EpochFp, "repeated"],
  chatSequence: [7, "u64"],
  quietCounts: [8, ChatCount, "repeated"],
  removalProbe: [9, "bool"],
  signature: [15, "bytes"],
} as const;
const CommitEntry = { epoch: [1, "u64"], commit: [2, "bytes"], fingerprintAfter: [3, "bytes"] } as const;
export const CatchUpRequestSchema = {
  groupId: [1, "bytes"],
  memberId: [2, "bytes"],
  fromEpoch: [3, "u64"],
  targetEpoch: [4, "u64"],
  target: [5, "bytes"],
  nonce: [6, "bytes"],
  signature: [15, "bytes"],
} as const;
export const CatchUpResponseSchema = {
  groupId: [1, "bytes"],
  responder: [2, "bytes"],
  nonce: [3, "bytes"],
  commits: [4, CommitEntry, "repeated"],
  baseEpoch: [5, "u64"],
  baseFingerprint: [6, "bytes"],
  staleLeaf: [7, "bool"],
  signature: [15, "bytes"],
} as const;
export const ResetProposalSchema = {
  oldGroupId: [1, "bytes"],
  attempt: [2, "u64"],
  proposer: [3, "bytes"],
  roster: [4, "bytes", "repeated"],
  signature: [15, "bytes"],
} as const;
export const ResetVoteSchema = {
  proposalId: [1, "bytes"],
  voter: [2, "bytes"],
  yes: [3, "bool"],
  keyPackage: [4, "bytes"],
  keyPackageHash: [5, "bytes"],
  signature: [15, "bytes"],
} as const;
export const ResetWelcomeSchema = {
  proposalId: [1, "bytes"],
  operator: [2, "bytes"],
  welcome: [3, "bytes"],
  groupId: [4, "bytes"],
  proposal: [5, ResetProposalSchema],
  votes: [6, ResetVoteSchema, "repeated"],
  parentKeyId: [7, "bytes"],
  operatorSignature: [15, "bytes"],
} as const;
export const SyncPayloadSchema = {
  info: [1, SyncStateInfoSchema],
  catchUp: [2, CatchUpRequestSchema],
  commits: [3, CatchUpResponseSchema],
  reset: [4, ResetProposalSchema],
  resetVote: [5, ResetVoteSchema],
  resetWelcome: [6, ResetWelcomeSchema],
} as const;

export type SyncStateInfo = Decoded<typeof SyncStateInfoSchema>;
export type CatchUpRequest = Decoded<typeof CatchUpRequestSchema>;
export type CatchUpResponse = Decoded<typeof CatchUpResponseSchema>;
export type ResetProposal = Decoded<typeof ResetProposalSchema>;
export type ResetVote = Decoded<typeof ResetVoteSchema>;
export type ResetWelcome = Decoded<typeof ResetWelcomeSchema>;
export type SyncPayload = Decoded<typeof SyncPayloadSchema>;
export type SyncEnvelope = Decoded<typeof SyncEnvelopeSchema>;

export const encodeSyncPayload = (p: SyncPayload) => encode(SyncPayloadSchema, p);
export const decodeSyncPayload = (b: Uint8Array) => decode(SyncPayloadSchema, b, "SyncPayload");
export const encodeEnvelope = (e: SyncEnvelope) => encode(SyncEnvelopeSchema, e);
export const decodeEnvelope = (b: Uint8Array) =>
  decode(SyncEnvelopeSchema, b, "SyncEnvelope", ["keyId", "nonce", "ciphertext"]);
/** The bytes a SyncStateInfo signature covers: the message without its signature. */
export const infoBody = (i: SyncStateInfo) => encode(SyncStateInfoSchema, { ...i, signature: undefined });
export const resetBody = (r: ResetProposal) => encode(ResetProposalSchema, { ...r, signature: undefined });
/** The bytes a catch-up request's signature covers: the request without its signature. */
export const catchUpBody = (r: CatchUpRequest) =>
  encode(CatchUpRequestSchema, { ...r, signature: undefined });
/** The bytes a catch-up answer's signature covers: the answer without its signature. */
export const answerBody = (r: CatchUpResponse) =>
  encode(CatchUpResponseSchema, { ...r, signature: undefined });
/**
 * The bytes a reset vote's signature covers: its fields with the KeyPackage replaced by its SHA-256, so
 * that a certificate can carry the signed vote without the KeyPackage (`keyPackageHash` instead).
 */
export const resetVoteBody = (v: ResetVote) =>
  encode(ResetVoteSchema, {
    proposalId: v.proposalId,
    voter: v.voter,
    yes: v.yes,
    keyPackageHash: v.keyPackage ? sha256(v.keyPackage) : v.keyPackageHash,
  });
/**
 * The bytes a reset Welcome's operator signature covers: its proposal id, operator, group id and parent
 * key id, with the Welcome replaced by its SHA-256 (the certificate is signed by its voters already).
 */
export const resetWelcomeBody = (w: ResetWelcome) =>
  encode(ResetWelcomeSchema, {
    proposalId: w.proposalId,
    operator: w.operator,
    welcome: w.welcome ? sha256(w.welcome) : undefined,
    groupId: w.groupId,
    parentKeyId: w.parentKeyId,
  });
