// Serialize a member's MLS state to bytes and back (schema: proto/member_state.proto). This is what
// store/ persists; restoring gives a group that processes the next commit exactly as the original would.
import { type ClientState, decodeGroupState, encodeGroupState } from "ts-mls";
import { bytesEqual } from "../util/bytes.ts";
import { BinaryWriter, DecodeError, readFields, writeBytes, writeUint64 } from "../util/proto.ts";
import { MlsProtocolError } from "./errors.ts";
import type { EpochFingerprint } from "./fingerprint.ts";
import { bundleOf, type Identity, type KeyPackageBundle, readKeyPackage } from "./identity.ts";
import { LEFT_STATES_KEPT } from "./reentry.ts";
import { clientConfig } from "./suite.ts";
import type { LeftState, MlsGroup, RetainedEpoch } from "./types.ts";

const VERSION = 1;

function encodeIdentity(id: Identity): Uint8Array {
  const w = new BinaryWriter();
  writeBytes(w, 1, id.id);
  writeBytes(w, 2, id.signaturePublicKey);
  writeBytes(w, 3, id.signaturePrivateKey);
  return w.finish();
}

function decodeIdentity(bytes: Uint8Array): Identity {
  let id: Uint8Array = new Uint8Array();
  let pub: Uint8Array = new Uint8Array();
  let priv: Uint8Array = new Uint8Array();
  readFields(bytes, "MemberIdentity", (f, r) => {
    if (f === 1) id = r.bytes();
    else if (f === 2) pub = r.bytes();
    else if (f === 3) priv = r.bytes();
    else return false;
    return true;
  });
  return { id, signaturePublicKey: pub, signaturePrivateKey: priv };
}

function encodeFp(e: { epoch: bigint; fingerprint: Uint8Array }, state?: ClientState): Uint8Array {
  const w = new BinaryWriter();
  writeUint64(w, 1, e.epoch);
  writeBytes(w, 2, e.fingerprint);
  if (state) writeBytes(w, 3, encodeGroupState(state));
  return w.finish();
}

function decodeFp(bytes: Uint8Array, what: string): EpochFingerprint & { state?: Uint8Array } {
  let epoch = 0n;
  let fingerprint: Uint8Array = new Uint8Array();
  let state: Uint8Array | undefined;
  readFields(bytes, what, (f, r) => {
    if (f === 1) epoch = r.uint64();
    else if (f === 2) fingerprint = r.bytes();
    else if (f === 3) state = r.bytes();
    else return false;
    return true;
  });
  return { epoch, fingerprint, ...(state ? { state } : {}) };
}

function decodeState(bytes: Uint8Array | undefined): ClientState {
  if (bytes === undefined) throw new DecodeError("MemberState: missing group state");
  let d: ReturnType<typeof decodeGroupState>;
  try {
    d = decodeGroupState(bytes, 0);
  } catch (e) {
    throw new DecodeError(`group state: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (d === undefined || d[1] !== bytes.length) throw new DecodeError("group state: undecodable");
  return { ...d[0], clientConfig };
}

/**
 * Serializes everything {@link restoreGroup} needs: identity, current state, history, retained epochs,
 * left states.
 */
export function serializeGroup(group: MlsGroup): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, 0).uint32(VERSION);
  writeBytes(w, 2, encodeIdentity(group.identity));
  w.tag(3, 0).uint32(group.options.historySize);
  w.tag(4, 0).uint32(group.options.retainedEpochs);
  writeBytes(w, 5, encodeGroupState(group.state));
  for (const h of group.history) writeBytes(w, 6, encodeFp(h));
  for (const r of group.retained) writeBytes(w, 7, encodeFp(r, r.state));
  for (const l of group.leftStates) writeBytes(w, 8, encodeLeftState(l));
  return w.finish();
}

function encodeLeftState(l: LeftState): Uint8Array {
  const w = new BinaryWriter();
  writeBytes(w, 1, l.fingerprint);
  w.tag(2, 0).uint32(l.application);
  w.tag(3, 0).uint32(l.handshake);
  return w.finish();
}

function decodeLeftState(bytes: Uint8Array): LeftState {
  let fingerprint: Uint8Array = new Uint8Array();
  let application = 0;
  let handshake = 0;
  readFields(bytes, "LeftState", (f, r) => {
    if (f === 1) fingerprint = r.bytes();
    else if (f === 2) application = r.uint32();
    else if (f === 3) handshake = r.uint32();
    else return false;
    return true;
  });
  return { fingerprint, application, handshake };
}

/**
 * Restores a group from {@link serializeGroup} bytes. Secrets consumed before the snapshot are not
 * tracked any more (they are only dropped, not zeroed, when their epoch retires).
 * @throws {MlsProtocolError} `MALFORMED` for bytes that are not a member state.
 */
export function restoreGroup(bytes: Uint8Array): MlsGroup {
  try {
    let version = 0;
    let identity: Identity | undefined;
    let historySize = 0;
    let retainedEpochs = 0;
    let current: Uint8Array | undefined;
    const history: EpochFingerprint[] = [];
    const retainedRaw: Uint8Array[] = [];
    const leftStates: LeftState[] = [];
    readFields(bytes, "MemberState", (f, r) => {
      if (f === 1) version = r.uint32();
      else if (f === 2) identity = decodeIdentity(r.message());
      else if (f === 3) historySize = r.uint32();
      else if (f === 4) retainedEpochs = r.uint32();
      else if (f === 5) current = r.bytes();
      else if (f === 6) history.push(decodeFp(r.message(), "EpochFingerprint"));
      else if (f === 7) retainedRaw.push(r.message());
      else if (f === 8) leftStates.push(decodeLeftState(r.message()));
      else return false;
      return true;
    });
    if (version !== VERSION) throw new DecodeError(`MemberState: version ${version}`);
    if (identity === undefined) throw new DecodeError("MemberState: no identity");
    const state = decodeState(current);
    const last = history.at(-1);
    if (last === undefined || last.epoch !== state.groupContext.epoch)
      throw new DecodeError("MemberState: history does not end at the current epoch");
    const retained: RetainedEpoch[] = retainedRaw.map((raw) => {
      const r = decodeFp(raw, "RetainedEpoch");
      return {
        epoch: r.epoch,
        fingerprint: r.fingerprint,
        history: history.filter((h) => h.epoch <= r.epoch),
        state: decodeState(r.state),
        consumed: [],
      };
    });
    return {
      identity,
      groupId: state.groupContext.groupId,
      epoch: state.groupContext.epoch,
      fingerprint: last.fingerprint,
      history,
      retained,
      consumed: undefined,
      options: { historySize, retainedEpochs },
      leftStates: leftStates.slice(-LEFT_STATES_KEPT),
      state,
    };
  } catch (e) {
    if (e instanceof DecodeError) throw new MlsProtocolError("MALFORMED", e.message, { cause: e });
    throw new MlsProtocolError("MALFORMED", `MemberState: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

/** Serializes a KeyPackage with its private keys (without the identity's signature key). */
export function serializeKeyPackage(bundle: KeyPackageBundle): Uint8Array {
  const w = new BinaryWriter();
  writeBytes(w, 1, bundle.publicBytes);
  writeBytes(w, 2, bundle.inner.privatePackage.initPrivateKey);
  writeBytes(w, 3, bundle.inner.privatePackage.hpkePrivateKey);
  if (bundle.lastResort) w.tag(4, 0).bool(true);
  return w.finish();
}

/**
 * Restores a {@link serializeKeyPackage} bundle for its owner.
 * @throws {MlsProtocolError} `MALFORMED`, the errors of {@link readKeyPackage} for the KeyPackage itself, or
 * `INVALID` if it is not `identity`'s.
 */
export async function restoreKeyPackage(bytes: Uint8Array, identity: Identity): Promise<KeyPackageBundle> {
  let pub: Uint8Array = new Uint8Array();
  let init: Uint8Array = new Uint8Array();
  let hpke: Uint8Array = new Uint8Array();
  let lastResort = false;
  try {
    readFields(bytes, "KeyPackageSecret", (f, r) => {
      if (f === 1) pub = r.bytes();
      else if (f === 2) init = r.bytes();
      else if (f === 3) hpke = r.bytes();
      else if (f === 4) lastResort = r.bool();
      else return false;
      return true;
    });
  } catch (e) {
    throw new MlsProtocolError("MALFORMED", e instanceof Error ? e.message : String(e), { cause: e });
  }
  const info = await readKeyPackage(pub);
  if (!bytesEqual(info.signaturePublicKey, identity.signaturePublicKey))
    throw new MlsProtocolError("INVALID", "KeyPackage belongs to another identity");
  return bundleOf(
    info.inner,
    { initPrivateKey: init, hpkePrivateKey: hpke, signaturePrivateKey: identity.signaturePrivateKey },
    lastResort,
  );
}
