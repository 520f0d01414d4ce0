// Hand-written Protocol Buffers codecs over @bufbuild/protobuf's wire primitives. The schema of every
// message lives in proto/*.proto; codecs mirror it field by field. Decoders are strict about wire types
// and skip unknown fields, as protobuf requires.
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { MAX_WIRE_U64 } from "./bounds.ts";
import { DemlsError } from "./errors.ts";

export { BinaryWriter, WireType };

/** A protobuf message that cannot be decoded. */
export class DecodeError extends DemlsError {
  constructor(message: string) {
    super("MALFORMED", message);
  }
}

/** Field reader handed to a decode callback: typed reads that check the wire type. */
export interface FieldReader {
  bytes(): Uint8Array;
  string(): string;
  /** At most {@link MAX_WIRE_U64}: a larger value is a {@link DecodeError}. */
  uint64(): bigint;
  /** A varint above 2^32 - 1 keeps its low 32 bits, as protobuf reads a uint32. */
  uint32(): number;
  bool(): boolean;
  /** Nested message: its raw bytes, to be decoded by another codec. */
  message(): Uint8Array;
}

/**
 * Decodes `bytes` field by field: `onField` returns false for fields it does not know (they are skipped).
 * Any wire error (truncation, bad varint, wrong wire type for a known field) becomes a {@link DecodeError}.
 */
export function readFields(
  bytes: Uint8Array,
  what: string,
  onField: (field: number, r: FieldReader) => boolean,
): void {
  const reader = new BinaryReader(bytes);
  const r = new Fields(reader, what);
  try {
    while (reader.pos < reader.len) {
      [r.field, r.wire] = reader.tag();
      const start = reader.pos;
      if (!onField(r.field, r)) {
        reader.pos = start;
        reader.skip(r.wire, r.field);
      }
    }
  } catch (e) {
    if (e instanceof DemlsError) throw e;
    throw new DecodeError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (reader.pos !== reader.len) throw new DecodeError(`${what}: trailing bytes`);
}

/**
 * The {@link FieldReader} of one `readFields` call, positioned on the current field. One object per call,
 * not a set of closures: every member decodes every message it receives, so what a decode allocates
 * is multiplied by n² in a heal (docs/decisions.md has the measurement).
 */
class Fields implements FieldReader {
  field = 0;
  wire: WireType = WireType.Varint;
  private readonly reader: BinaryReader;
  private readonly what: string;
  constructor(reader: BinaryReader, what: string) {
    this.reader = reader;
    this.what = what;
  }
  /** A known field must come with its type's wire type. */
  private expect(t: WireType): void {
    if (this.wire !== t)
      throw new DecodeError(`${this.what}: field ${this.field} has wire type ${this.wire}, expected ${t}`);
  }
  bytes(): Uint8Array {
    this.expect(WireType.LengthDelimited);
    return this.reader.bytes();
  }
  message(): Uint8Array {
    return this.bytes();
  }
  string(): string {
    this.expect(WireType.LengthDelimited);
    return this.reader.string();
  }
  uint64(): bigint {
    this.expect(WireType.Varint);
    const v = BigInt.asUintN(64, BigInt(this.reader.uint64()));
    if (v > MAX_WIRE_U64) throw new DecodeError(`${this.what}: field ${this.field} is above 2^53-1`);
    return v;
  }
  uint32(): number {
    this.expect(WireType.Varint);
    return this.reader.uint32();
  }
  bool(): boolean {
    this.expect(WireType.Varint);
    return this.reader.bool();
  }
}

/** Writes a length-delimited field (bytes or nested message) when `value` is present. */
export function writeBytes(w: BinaryWriter, field: number, value: Uint8Array | undefined): void {
  if (value !== undefined) w.tag(field, WireType.LengthDelimited).bytes(value);
}

/** Writes a uint64 field when `value` is present. */
export function writeUint64(w: BinaryWriter, field: number, value: bigint | undefined): void {
  if (value === undefined) return;
  w.tag(field, WireType.Varint);
  // Below 2^32 (epochs, sequence numbers) the varint is the same as uint32's, without the BigInt
  // arithmetic of uint64(): every member re-encodes each SyncStateInfo it receives to check its
  // signature (about 20 u64 fields with the ancestry), which was a quarter of a 500-member heal.
  if (value >= 0n && value <= 0xffff_ffffn) w.uint32(Number(value));
  else w.uint64(value);
}
