/**
 * The parts of a SentencePiece model file (spiece.model, sentencepiece.bpe.model) that a
 * tokenizer.json is built from: its pieces with their scores and types, the trainer's algorithm and
 * special ids, and the normaliser. The file is a protocol buffer (sentencepiece_model.proto's
 * ModelProto); it is read with the wire reader ProbeScale already has for ONNX rather than a
 * generated decoder, since six fields of it are all that is needed.
 */
import * as fs from 'node:fs';
import { BufferSource, fieldBytes, fieldString, parseFields, WireType, type Field } from '../onnx/wire';
import { OnnxParseError, UnsupportedModelError } from '../errors';

/** sentencepiece_model.proto's SentencePiece.Type. */
export const enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface SentencePieceModel {
  pieces: { piece: string; score: number; type: PieceType }[];
  /** TrainerSpec.model_type: 1 Unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  unkId: number;
  byteFallback: boolean;
  /** NormalizerSpec.name (nmt_nfkc by default) and its compiled character map (empty: no normalisation). */
  normalizerName: string;
  charsmap: Buffer;
}

/** Reads `file`; a file that is not a SentencePiece model is refused naming it. */
export function readSentencePiece(file: string): SentencePieceModel {
  const bytes = fs.readFileSync(file);
  if (bytes.length === 0) throw new UnsupportedModelError(`${file} is empty (0 bytes), not a SentencePiece model; download it again.`);
  const src = new BufferSource(bytes, file);
  try {
    return parseModel(src);
  } catch (e) {
    if (!(e instanceof OnnxParseError)) throw e;
    throw new UnsupportedModelError(`${file} does not parse as a SentencePiece model (a protocol buffer); the file is damaged or cut short. Download it again.`);
  }
}

function parseModel(src: BufferSource): SentencePieceModel {
  const top = parseFields(src, 0, src.size);
  const sub = (num: number): Field[] => {
    const f = top.filter((x) => x.num === num && x.wt === WireType.Len).pop();
    return f ? parseFields(src, f.valStart, f.valEnd) : [];
  };
  const pieces = top
    .filter((f) => f.num === 1 && f.wt === WireType.Len)
    .map((f) => {
      const fs_ = parseFields(src, f.valStart, f.valEnd);
      const piece = last(fs_, 1, WireType.Len);
      const score = last(fs_, 2, WireType.I32);
      const type = last(fs_, 3, WireType.Varint);
      return { piece: piece ? fieldString(src, piece) : '', score: score ? fieldBytes(src, score).readFloatLE(0) : 0, type: (type?.varint ?? PieceType.Normal) as PieceType };
    });
  if (pieces.length === 0) throw new OnnxParseError(`${src.label}: no pieces (field 1 of ModelProto)`);
  const trainer = sub(2);
  const normalizer = sub(3);
  const int = (fields: Field[], num: number, fallback: number) => last(fields, num, WireType.Varint)?.varint ?? fallback;
  const name = last(normalizer, 1, WireType.Len);
  const map = last(normalizer, 2, WireType.Len);
  return {
    pieces,
    modelType: int(trainer, 3, 1),
    unkId: int(trainer, 40, 0),
    byteFallback: int(trainer, 35, 0) !== 0,
    normalizerName: name ? fieldString(src, name) : 'nmt_nfkc',
    charsmap: map ? Buffer.from(fieldBytes(src, map)) : Buffer.alloc(0),
  };
}

/** The last occurrence of field `num` (protobuf: the last value of a non-repeated field wins). */
function last(fields: Field[], num: number, wt: WireType): Field | undefined {
  for (let i = fields.length - 1; i >= 0; i--) if (fields[i].num === num && fields[i].wt === wt) return fields[i];
  return undefined;
}
