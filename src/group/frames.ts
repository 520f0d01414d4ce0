// Codecs of proto/group.proto. Every decoder throws DecodeError (`MALFORMED`) and nothing else.
import { type Decoded, decode, encode } from "../util/schema.ts";

export const GroupFrameSchema = { commit: [1, "bytes"], application: [2, "bytes"] } as const;
export const ChatRefSchema = { id: [1, "bytes"], epoch: [2, "u64"] } as const;
export const ChatSchema = {
  id: [1, "bytes"],
  body: [2, "bytes"],
  sequence: [3, "u64"],
  sentAt: [4, "u64"],
  after: [5, ChatRefSchema, "repeated"],
  signature: [15, "bytes"],
} as const;
export const RelayedChatSchema = { sender: [1, "bytes"], chat: [2, ChatSchema] } as const;
/** de-MLS `ViolationEvidence`: here an equivocation (payload: an encoded `Equivocation`). */
export const ViolationEvidenceSchema = {
  violationType: [1, "u32"],
  target: [2, "bytes"],
  payload: [3, "bytes"],
  epoch: [4, "u64"],
  creator: [5, "bytes"],
} as const;
export const ProposalSchema = {
  kind: [1, "u32"],
  target: [2, "bytes"],
  epoch: [3, "u64"],
  proposer: [4, "bytes"],
  evidence: [5, ViolationEvidenceSchema],
  staleLeaf: [6, "bool"],
} as const;
export const VoteSchema = {
  proposalId: [1, "bytes"],
  voter: [2, "bytes"],
  yes: [3, "bool"],
  prev: [4, "bytes"],
  signature: [15, "bytes"],
} as const;
/**
 * A steward list (de-MLS `StewardList`; `ConversationSync` brings it to de-MLS joiners): with a Welcome
 * and with a sync-key share, the list in force at the sender's epoch.
 */
export const StewardListSchema = {
  members: [1, "bytes", "repeated"],
  electionEpoch: [2, "u64"],
  retry: [3, "u32"],
} as const;
export const SyncKeyShareSchema = {
  anchorEpoch: [1, "u64"],
  key: [2, "bytes"],
  stewards: [3, StewardListSchema],
} as const;
export const KeyPackageSetSchema = {
  member: [1, "bytes"],
  version: [2, "u64"],
  keyPackages: [3, "bytes", "repeated"],
  lastResort: [4, "bytes"],
} as const;
/** Two commits one member signed for one epoch (src/group/equivocation.ts). */
export const EquivocationSchema = {
  epoch: [1, "u64"],
  first: [2, "bytes"],
  second: [3, "bytes"],
} as const;
/** A commit for `epoch` by its SHA-256 (commit resolution, `commit-pull.ts`). */
export const CommitRefSchema = { epoch: [1, "u64"], hash: [2, "bytes"] } as const;
/** A request for the body of an attested commit, to the members named as `holders` (at most 2). */
export const CommitPullSchema = {
  epoch: [1, "u64"],
  hash: [2, "bytes"],
  holders: [3, "bytes", "repeated"],
} as const;
/** A request to `responder` for the chats of `sender` numbered `sequences` (at most 16; `chat-pull.ts`). */
export const ChatPullSchema = {
  sender: [1, "bytes"],
  sequences: [2, "u64", "repeated"],
  responder: [3, "bytes"],
  answerKey: [4, "bytes"],
} as const;
/** Chats answering a pull, sealed to the requester's `answerKey` alone (`chat-pull-seal.ts`). */
export const SealedRelaySchema = {
  to: [1, "bytes"],
  answerKey: [2, "bytes"],
  ephemeral: [3, "bytes"],
  nonce: [4, "bytes"],
  ciphertext: [5, "bytes"],
} as const;
export const GroupPayloadSchema = {
  chat: [1, ChatSchema],
  proposal: [2, ProposalSchema],
  vote: [3, VoteSchema],
  syncKey: [4, SyncKeyShareSchema],
  keyPackageSets: [5, KeyPackageSetSchema, "repeated"],
  votes: [6, VoteSchema, "repeated"],
  equivocation: [7, EquivocationSchema],
  relayed: [8, RelayedChatSchema],
  commitSeen: [9, CommitRefSchema],
  commitPull: [10, CommitPullSchema],
  chatPull: [11, ChatPullSchema],
  sealedRelay: [12, SealedRelaySchema],
} as const;
export const RejoinRequestSchema = {
  keyPackage: [1, "bytes"],
  groupId: [2, "bytes"],
  at: [3, "u64"],
  signature: [15, "bytes"],
} as const;
export const WelcomeFrameSchema = {
  keyPackage: [1, "bytes"],
  welcome: [2, "bytes"],
  sdsLamport: [3, "u64"],
  rejoin: [4, RejoinRequestSchema],
  stewards: [5, StewardListSchema],
} as const;

export type GroupFrame = Decoded<typeof GroupFrameSchema>;
export type GroupPayload = Decoded<typeof GroupPayloadSchema>;
export type Chat = Decoded<typeof ChatSchema>;
export type RelayedChat = Decoded<typeof RelayedChatSchema>;
export type ChatRef = Decoded<typeof ChatRefSchema>;
export type Proposal = Decoded<typeof ProposalSchema>;
export type Vote = Decoded<typeof VoteSchema>;
export type Equivocation = Decoded<typeof EquivocationSchema>;
export type ViolationEvidence = Decoded<typeof ViolationEvidenceSchema>;
export type WelcomeFrame = Decoded<typeof WelcomeFrameSchema>;
export type KeyPackageSet = Decoded<typeof KeyPackageSetSchema>;
export type RejoinRequest = Decoded<typeof RejoinRequestSchema>;
export type StewardListFrame = Decoded<typeof StewardListSchema>;
export type CommitRef = Decoded<typeof CommitRefSchema>;
export type CommitPull = Decoded<typeof CommitPullSchema>;
export type ChatPull = Decoded<typeof ChatPullSchema>;
export type SealedRelay = Decoded<typeof SealedRelaySchema>;

export const PROPOSAL_ADD = 1;
export const PROPOSAL_REMOVE = 2;
export const PROPOSAL_LEAVE = 3;
/** Key refresh: the steward commits an update path (target: a fresh nonce from the proposer). */
export const PROPOSAL_REFRESH = 4;
/** de-MLS `ViolationType::BROKEN_COMMIT`: the violation an equivocation is. */
export const VIOLATION_BROKEN_COMMIT = 1;

export const encodeGroupFrame = (f: GroupFrame) => encode(GroupFrameSchema, f);
export const decodeGroupFrame = (b: Uint8Array) => decode(GroupFrameSchema, b, "GroupFrame");
export const encodePayload = (p: Partial<GroupPayload>) => encode(GroupPayloadSchema, p);
export const encodeRelayedChat = (r: RelayedChat) => encode(RelayedChatSchema, r);
export const decodeRelayedChat = (b: Uint8Array) => decode(RelayedChatSchema, b, "RelayedChat");
export const decodePayload = (b: Uint8Array) => decode(GroupPayloadSchema, b, "GroupPayload");
export const encodeVote = (v: Vote) => encode(VoteSchema, v);
export const encodeWelcomeFrame = (f: Partial<WelcomeFrame>) => encode(WelcomeFrameSchema, f);
export const decodeWelcomeFrame = (b: Uint8Array) => decode(WelcomeFrameSchema, b, "WelcomeFrame");
export const encodeKeyPackageSet = (s: KeyPackageSet) => encode(KeyPackageSetSchema, s);
export const encodeEquivocation = (e: Equivocation) => encode(EquivocationSchema, e);
export const decodeEquivocation = (b: Uint8Array) => decode(EquivocationSchema, b, "Equivocation");
export const decodeKeyPackageSet = (b: Uint8Array) => decode(KeyPackageSetSchema, b, "KeyPackageSet");
/** The signed part of a rejoin request: every field but the signature. */
export const rejoinBody = (r: RejoinRequest) => encode(RejoinRequestSchema, { ...r, signature: undefined });
