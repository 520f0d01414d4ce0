// An insider for tests (`demls/testing`): a cluster member whose own messages a test controls (sent,
// dropped, altered, or sent to some members only) and which builds, signs, seals and encrypts any
// protocol message with its valid keys. Every peer may lie, members included; this is how a test lies.
import {
  decodeGroupFrame,
  encodeGroupFrame,
  encodePayload,
  encodeWelcomeFrame,
  type GroupPayload,
  type RejoinRequest,
  rejoinBody,
  type Vote,
  type WelcomeFrame,
} from "../group/frames.ts";
import { voteBody } from "../group/votes.ts";
import {
  ancestry,
  type CommitOutput,
  type CommitRequest,
  commit,
  encrypt,
  generateKeyPackages,
  sign,
} from "../mls/index.ts";
import { decodeSdsMessage, encodeSdsMessage, messageIdOf, type SdsMessage } from "../sds/index.ts";
import { seal } from "../sync/seal.ts";
import {
  answerBody,
  type CatchUpRequest,
  type CatchUpResponse,
  catchUpBody,
  encodeSyncPayload,
  infoBody,
  type ResetProposal,
  type ResetVote,
  resetBody,
  resetVoteBody,
  type SyncPayload,
  type SyncStateInfo,
} from "../sync/wire.ts";
import { utf8 } from "../util/bytes.ts";
import type { Cluster } from "./cluster.ts";
import type { Member } from "./member.ts";
import type { OutgoingFilter, TopicKind } from "./outgoing.ts";

/** Where an insider's hand-made message goes: everyone on the topic, or the named members only. */
export interface InsiderSendOptions {
  readonly to?: readonly string[];
}

/** A cluster member a test lies through. Messages it makes by hand bypass {@link Insider.outgoing}. */
export class Insider {
  readonly cluster: Cluster;
  readonly name: string;

  constructor(cluster: Cluster, name: string) {
    this.cluster = cluster;
    this.name = name;
  }

  /** The member as it runs now (a new object after a restart). */
  get member(): Member {
    const m = this.cluster.members.get(this.name);
    if (m === undefined) throw new Error(`no member ${this.name}`);
    return m;
  }

  /** What becomes of each message the member publishes itself (undefined: every one sent as is). */
  get outgoing(): OutgoingFilter | undefined {
    return this.cluster.outgoing.get(this.name);
  }
  set outgoing(filter: OutgoingFilter | undefined) {
    if (filter === undefined) this.cluster.outgoing.delete(this.name);
    else this.cluster.outgoing.set(this.name, filter);
  }

  // ---- The sync layer: signed with the member's MLS signature key, sealed under its sync key. ----

  /**
   * Our state as our next SyncStateInfo says it (unsigned). Takes the member's next seqnum, so the
   * member's own next info is not a replay of it.
   */
  stateInfo(): SyncStateInfo {
    const m = this.member;
    const g = m.group.group;
    if (g === undefined) throw new Error(`${this.name} has no group`);
    m.sync.state.seqnum++;
    return {
      groupId: g.groupId,
      memberId: m.group.memberId,
      epoch: g.epoch,
      fingerprint: g.fingerprint,
      seqnum: m.sync.state.seqnum,
      ancestry: ancestry(g.history),
      quietCounts: [],
    };
  }

  /** `info` signed (its signature field is replaced). */
  async signInfo(info: SyncStateInfo): Promise<SyncStateInfo> {
    return { ...info, signature: await sign(this.member.identity, "sync-state", infoBody(info)) };
  }

  /** A catch-up request signed (whatever its `memberId` says: a test may claim another member's). */
  async signCatchUp(r: CatchUpRequest): Promise<CatchUpRequest> {
    return { ...r, signature: await sign(this.member.identity, "catch-up", catchUpBody(r)) };
  }

  /** A catch-up answer signed (whatever its `responder` says): an empty one says "no path". */
  async noPathAnswer(r: CatchUpResponse): Promise<CatchUpResponse> {
    return { ...r, signature: await sign(this.member.identity, "catch-up-answer", answerBody(r)) };
  }

  /** A reset proposal signed. */
  async signReset(p: ResetProposal): Promise<ResetProposal> {
    return { ...p, signature: await sign(this.member.identity, "reset", resetBody(p)) };
  }

  /** A reset vote signed. */
  async signResetVote(v: ResetVote): Promise<ResetVote> {
    return { ...v, signature: await sign(this.member.identity, "reset-vote", resetVoteBody(v)) };
  }

  /** A sync payload sealed as the sync layer seals it: under the current sync key, or `key`. */
  sealSync(payload: SyncPayload, key?: Uint8Array): Uint8Array {
    const m = this.member;
    const k = key ?? m.group.state.syncKey?.key;
    if (k === undefined) throw new Error(`${this.name} has no sync key`);
    const topic = m.group.topics.sync;
    return seal(k, encodeSyncPayload(payload), this.cluster.sim.node(this.name).rng, utf8(topic));
  }

  /** Seals and sends a sync payload. */
  sendSync(payload: SyncPayload, options: InsiderSendOptions & { key?: Uint8Array } = {}): Promise<void> {
    return this.send("sync", this.sealSync(payload, options.key), options);
  }

  // ---- The group layer: MLS application messages of its group, commits, SDS messages. ----

  /** A vote signed and nothing else (its chain link `prev` is the caller's). */
  async signVote(v: Vote): Promise<Vote> {
    return { ...v, signature: await sign(this.member.identity, "vote", voteBody(v)) };
  }

  /**
   * A group frame carrying `payload` as an MLS application message of our group (the member's group
   * moves on to the next generation, as after any message it sends). `tamper` may change the MLS message
   * before it is framed (a forged header, say).
   */
  async encryptPayload(
    payload: Partial<GroupPayload>,
    tamper: (message: Uint8Array) => Uint8Array = (m) => m,
  ): Promise<Uint8Array> {
    const core = this.member.group;
    if (core.group === undefined) throw new Error(`${this.name} has no group`);
    const r = await encrypt(core.group, encodePayload(payload));
    core.group = r.group;
    return encodeGroupFrame({ application: tamper(r.message) });
  }

  /**
   * An MLS commit of our group (an update path when `request` is empty) and its group frame. The member
   * does not apply it: what becomes of it is the test's.
   */
  async commit(request: CommitRequest = {}): Promise<CommitOutput & { frame: Uint8Array }> {
    const g = this.member.group.group;
    if (g === undefined) throw new Error(`${this.name} has no group`);
    const out = await commit(g, request);
    return { ...out, frame: encodeGroupFrame({ commit: out.commit }) };
  }

  /**
   * An SDS message of ours on the group channel carrying `frame`, with no causal history (delivered at
   * once), `fields` overriding any field. Our SDS channel does not know it: it never resends it.
   */
  sds(frame: Uint8Array, fields: Partial<SdsMessage> = {}): Uint8Array {
    const ch = this.member.group.channel;
    if (ch === undefined) throw new Error(`${this.name} has no channel`);
    const s = ch.state;
    const lamport = fields.lamportTimestamp ?? s.lamport + 1n;
    return encodeSdsMessage({
      senderId: s.selfId,
      messageId: messageIdOf(s.channelId, s.selfId, lamport, frame),
      channelId: s.channelId,
      lamportTimestamp: lamport,
      causalHistory: [],
      repairRequest: [],
      content: frame,
      ...fields,
    });
  }

  /**
   * Equivocates on the member's next commit: that commit goes to the members `a` only, and a second
   * commit made from the same state (an update path, as a refresh round's commit is) goes to `b` only.
   * Resolves with both once sent. Every other message goes out as the filter in place says.
   */
  equivocate(a: readonly string[], b: readonly string[]): Promise<{ first: Uint8Array; second: Uint8Array }> {
    const before = this.outgoing;
    return new Promise((resolve, reject) => {
      this.outgoing = (m) => {
        const fate = before?.(m) ?? "send";
        if (m.kind !== "app") return fate;
        let first: Uint8Array | undefined;
        try {
          first = decodeGroupFrame(decodeSdsMessage(m.data).content ?? new Uint8Array()).commit;
        } catch {}
        if (first === undefined) return fate;
        this.outgoing = before;
        const made = this.commit();
        made
          .then(async (second) => {
            await this.send("app", this.sds(second.frame), { to: b });
            resolve({ first: first!, second: second.commit });
          })
          .catch(reject);
        return { to: a };
      };
    });
  }

  /** Encrypts `payload` and sends it as an SDS message on the group channel. */
  async sendPayload(payload: Partial<GroupPayload>, options: InsiderSendOptions = {}): Promise<void> {
    return this.send("app", this.sds(await this.encryptPayload(payload)), options);
  }

  // ---- The welcome topic: KeyPackages, rejoin requests, Welcomes (in clear). ----

  /** A fresh KeyPackage of our identity (published bytes). */
  async keyPackage(): Promise<Uint8Array> {
    return (await generateKeyPackages(this.member.identity, 1))[0]!.publicBytes;
  }

  /** A rejoin request signed with our identity key. */
  async signRejoin(r: RejoinRequest): Promise<RejoinRequest> {
    return { ...r, signature: await sign(this.member.identity, "rejoin", rejoinBody(r)) };
  }

  /** Sends a frame on the welcome topic. */
  sendWelcome(frame: WelcomeFrame, options: InsiderSendOptions = {}): Promise<void> {
    return this.send("welcome", encodeWelcomeFrame(frame), options);
  }

  // ---- Raw. ----

  /** Publishes `data` on the conversation's topic of `kind`, to everyone or to `options.to` only. */
  async send(kind: TopicKind, data: Uint8Array, options: InsiderSendOptions = {}): Promise<void> {
    const topic = this.member.group.topics[kind];
    if (options.to === undefined) await this.cluster.sim.node(this.name).transport.publish(topic, data);
    else this.cluster.sim.publishTo(this.name, topic, data, options.to);
  }
}
