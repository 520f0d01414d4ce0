// Schema-driven protobuf codecs for the flat messages of proto/group.proto and proto/sync.proto: one
// table per message mirrors its .proto (field number, type, repeated), and encode/decode follow it. Keeps
// each codec a few lines and the field numbers in one place.
import { BinaryWriter, DecodeError, type FieldReader, readFields, WireType, writeUint64 } from "./proto.ts";

type Scalar = "bytes" | "u64" | "u32" | "bool" | "string";
/** One field: `[number, type]` or `[number, type, "repeated"]`; a nested message is its own schema. */
type Field = readonly [number, Scalar | Schema] | readonly [number, Scalar | Schema, "repeated"];
/** A message schema: property name → field. */
export type Schema = { readonly [name: string]: Field };

type ScalarType<T> = T extends "bytes"
  ? Uint8Array
  : T extends "u64"
    ? bigint
    : T extends "u32"
      ? number
      : T extends "bool"
        ? boolean
        : T extends "string"
          ? string
          : never;
type FieldType<F> = F extends readonly [number, infer T, "repeated"]
  ? T extends Schema
    ? Decoded<T>[]
    : ScalarType<T>[]
  : F extends readonly [number, infer T]
    ? T extends Schema
      ? Decoded<T>
      : ScalarType<T>
    : never;
/** The value type of a schema: every field optional except repeated ones (always an array). */
export type Decoded<S extends Schema> = {
  [K in keyof S as S[K] extends readonly [number, unknown, "repeated"] ? K : never]: FieldType<S[K]>;
} & {
  [K in keyof S as S[K] extends readonly [number, unknown, "repeated"] ? never : K]?: FieldType<S[K]>;
};

function writeOne(w: BinaryWriter, no: number, type: Scalar | Schema, v: unknown): void {
  if (typeof type === "object") {
    // In the same writer (fork/join writes the length prefix): a writer per nested message was two
    // buffers per ancestry entry of every SyncStateInfo every member re-encodes to check its signature.
    w.tag(no, WireType.LengthDelimited).fork();
    writeFields(w, type, v as Decoded<Schema>);
    w.join();
    return;
  }
  if (type === "bytes") w.tag(no, WireType.LengthDelimited).bytes(v as Uint8Array);
  else if (type === "string") w.tag(no, WireType.LengthDelimited).string(v as string);
  else if (type === "u64") writeUint64(w, no, v as bigint);
  else if (type === "u32") w.tag(no, WireType.Varint).uint32(v as number);
  else w.tag(no, WireType.Varint).bool(v as boolean);
}

type Layout = {
  /** Fields in field-number order, as encode writes them. */
  ordered: (readonly [string, Field])[];
  byNo: Map<number, readonly [string, Field]>;
  repeated: string[];
};

/**
 * A schema's field order and field-number index, built once per schema rather than on every decode:
 * every member decodes every SyncStateInfo and its ancestry entries, and re-encodes each to check its
 * signature (docs/decisions.md has the measurement).
 */
const layouts = new WeakMap<Schema, Layout>();

function layoutOf(schema: Schema): Layout {
  let l = layouts.get(schema);
  if (l === undefined) {
    const entries = Object.entries(schema);
    l = {
      ordered: entries.sort((a, b) => a[1][0] - b[1][0]),
      byNo: new Map(entries.map(([name, f]) => [f[0], [name, f] as const])),
      repeated: entries.filter(([, f]) => f[2] === "repeated").map(([name]) => name),
    };
    layouts.set(schema, l);
  }
  return l;
}

/** Encodes `value` per `schema`; absent fields (a missing repeated one is empty) are left out. */
export function encode<S extends Schema>(schema: S, value: Partial<Decoded<S>>): Uint8Array {
  const w = new BinaryWriter();
  writeFields(w, schema, value);
  return w.finish();
}

function writeFields(w: BinaryWriter, schema: Schema, value: Partial<Decoded<Schema>>): void {
  for (const [name, f] of layoutOf(schema).ordered) {
    const v = (value as Record<string, unknown>)[name];
    if (v === undefined) continue;
    if (f[2] === "repeated") for (const x of v as unknown[]) writeOne(w, f[0], f[1], x);
    else writeOne(w, f[0], f[1], v);
  }
}

/** Reads one field; `what.name` names a nested message in its errors (built only for one: a hot path). */
function readOne(r: FieldReader, type: Scalar | Schema, what: string, name: string): unknown {
  if (typeof type === "object") return decode(type, r.message(), `${what}.${name}`);
  if (type === "bytes") return r.bytes();
  if (type === "string") return r.string();
  if (type === "u64") return r.uint64();
  if (type === "u32") return r.uint32();
  return r.bool();
}

/**
 * Decodes `bytes` per `schema`, skipping unknown fields.
 * @throws {DecodeError} `MALFORMED` on any wire error, or when a field in `required` is absent.
 */
export function decode<S extends Schema>(
  schema: S,
  bytes: Uint8Array,
  what: string,
  required: readonly (keyof S & string)[] = [],
): Decoded<S> {
  const { byNo, repeated } = layoutOf(schema);
  const out: Record<string, unknown> = {};
  for (const name of repeated) out[name] = [];
  readFields(bytes, what, (no, r) => {
    const hit = byNo.get(no);
    if (hit === undefined) return false;
    const [name, f] = hit;
    const v = readOne(r, f[1], what, name);
    if (f[2] === "repeated") (out[name] as unknown[]).push(v);
    else out[name] = v;
    return true;
  });
  for (const k of required) if (out[k] === undefined) throw new DecodeError(`${what}: missing ${k}`);
  return out as Decoded<S>;
}
