// One interface over a member of either implementation, so the interop scenario is written once and run
// with either side creating the group: a demls member (src/mls/, ts-mls underneath) or an OpenMLS member
// (an `mls_peer` process). Each holds at most one group.
import * as mls from "../../src/mls/index.ts";
import { toHex, utf8 } from "../../src/util/bytes.ts";
import { MlsPeer, PeerError } from "./mls-peer.ts";

/** What a member made of a group message. */
export type Read =
  | { kind: "commit"; sender: Uint8Array; epoch: bigint }
  | { kind: "application"; sender: Uint8Array; epoch: bigint; plaintext: Uint8Array };

/** A member of one MLS group, whichever implementation runs it. */
export interface Side {
  readonly impl: "demls" | "openmls";
  readonly name: string;
  /** Credential identity (basic credential). */
  readonly id: Uint8Array;
  /** A KeyPackage to be added from, encoded as an `MLSMessage`. */
  keyPackage(): Promise<Uint8Array>;
  create(groupId: Uint8Array): Promise<void>;
  join(welcome: Uint8Array): Promise<void>;
  /** Commits the addition of the owner of `keyPackage` and enters the next epoch. */
  add(keyPackage: Uint8Array): Promise<{ commit: Uint8Array; welcome: Uint8Array }>;
  /** Commits with an update path and no proposals (a key refresh) and enters the next epoch. */
  commitUpdate(): Promise<Uint8Array>;
  send(plaintext: Uint8Array): Promise<Uint8Array>;
  /** Processes a group message; a refusal throws and leaves the member as it was. */
  read(message: Uint8Array): Promise<Read>;
  /** Current epoch and demls state fingerprint. */
  state(): Promise<{ epoch: bigint; fingerprint: string }>;
  /** Credential identities of the members as hex, sorted. */
  members(): Promise<string[]>;
  close(): Promise<void>;
}

/** The code a refusal carried, whichever side refused: `MlsProtocolError` or `PeerError`. */
export function refusalCode(e: unknown): string {
  if (e instanceof mls.MlsProtocolError || e instanceof PeerError) return e.code;
  throw e;
}

/** A demls member: the project's own `src/mls/` API. */
export class DemlsSide implements Side {
  readonly impl = "demls";
  readonly name: string;
  private readonly identity: mls.Identity;
  private readonly keyPackages: mls.KeyPackageBundle[] = [];
  private group_: mls.MlsGroup | undefined;

  private constructor(name: string, identity: mls.Identity) {
    this.name = name;
    this.identity = identity;
  }

  static async start(name: string): Promise<DemlsSide> {
    return new DemlsSide(name, await mls.createIdentity(name));
  }

  get id(): Uint8Array {
    return this.identity.id;
  }

  /** The group value (tests read retained state through it). */
  get group(): mls.MlsGroup {
    if (this.group_ === undefined) throw new Error(`${this.name} has no group`);
    return this.group_;
  }

  private async freshKeyPackage(): Promise<mls.KeyPackageBundle> {
    const [kp] = await mls.generateKeyPackages(this.identity, 1);
    this.keyPackages.push(kp!);
    return kp!;
  }

  async keyPackage(): Promise<Uint8Array> {
    return (await this.freshKeyPackage()).publicBytes;
  }

  async create(groupId: Uint8Array): Promise<void> {
    this.group_ = await mls.createGroup(this.identity, groupId, await this.freshKeyPackage());
  }

  async join(welcome: Uint8Array): Promise<void> {
    this.group_ = (await mls.joinFromWelcome(this.identity, welcome, this.keyPackages)).group;
  }

  async add(keyPackage: Uint8Array): Promise<{ commit: Uint8Array; welcome: Uint8Array }> {
    const out = await mls.commit(this.group, { adds: [keyPackage] });
    this.group_ = out.group;
    return { commit: out.commit, welcome: out.welcome! };
  }

  async commitUpdate(): Promise<Uint8Array> {
    const out = await mls.commit(this.group);
    this.group_ = out.group;
    return out.commit;
  }

  async send(plaintext: Uint8Array): Promise<Uint8Array> {
    const out = await mls.encrypt(this.group, plaintext);
    this.group_ = out.group;
    return out.message;
  }

  async read(message: Uint8Array): Promise<Read> {
    const r = await mls.processMessage(this.group, message);
    this.group_ = r.group;
    if (r.kind === "commit") return { kind: "commit", sender: r.sender, epoch: r.group.epoch };
    return { kind: "application", sender: r.sender, epoch: r.epoch, plaintext: r.plaintext };
  }

  async state(): Promise<{ epoch: bigint; fingerprint: string }> {
    return { epoch: this.group.epoch, fingerprint: toHex(this.group.fingerprint) };
  }

  async members(): Promise<string[]> {
    return mls
      .roster(this.group)
      .map((m) => toHex(m.memberId))
      .sort();
  }

  async close(): Promise<void> {}
}

/** An OpenMLS member: an `mls_peer` process. */
export class OpenMlsSide implements Side {
  readonly impl = "openmls";
  readonly name: string;
  readonly id: Uint8Array;
  private readonly peer: MlsPeer;

  private constructor(name: string, peer: MlsPeer) {
    this.name = name;
    this.id = utf8(name);
    this.peer = peer;
  }

  static async start(name: string): Promise<OpenMlsSide> {
    return new OpenMlsSide(name, await MlsPeer.start(name));
  }

  keyPackage(): Promise<Uint8Array> {
    return this.peer.keyPackage();
  }

  async create(groupId: Uint8Array): Promise<void> {
    await this.peer.createGroup(groupId);
  }

  async join(welcome: Uint8Array): Promise<void> {
    await this.peer.join(welcome);
  }

  async add(keyPackage: Uint8Array): Promise<{ commit: Uint8Array; welcome: Uint8Array }> {
    const out = await this.peer.add(keyPackage);
    return { commit: out.commit, welcome: out.welcome! };
  }

  async commitUpdate(): Promise<Uint8Array> {
    return (await this.peer.commitUpdate()).commit;
  }

  send(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.peer.send(plaintext);
  }

  async read(message: Uint8Array): Promise<Read> {
    const r = await this.peer.process(message);
    if (r.kind === "proposal") throw new Error("standalone proposals are not part of this test");
    return r;
  }

  async state(): Promise<{ epoch: bigint; fingerprint: string }> {
    const fp = await this.peer.fingerprint();
    return { epoch: fp.epoch, fingerprint: toHex(fp.value) };
  }

  async members(): Promise<string[]> {
    return (await this.peer.members()).map(toHex).sort();
  }

  close(): Promise<void> {
    return this.peer.close();
  }
}
