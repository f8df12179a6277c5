import * as ort from 'onnxruntime-node';
import { TextTokenizer } from '../src/core/data/tokenize';

/** Plain inference as a user's code would run it: length-sorted batches of 32, all outputs. */
export async function plainPass(session: ort.InferenceSession, tok: TextTokenizer, texts: string[]): Promise<void> {
  const enc = texts.map((t) => tok.encodeWithTypes(t)).sort((a, b) => a.ids.length - b.ids.length);
  for (let s = 0; s < enc.length; s += 32) {
    const rows = enc.slice(s, s + 32);
    const b = tok.batch(rows.map((e) => e.ids), rows.map((e) => e.typeIds));
    const dims = [b.batchSize, b.seqLen];
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', b.inputIds, dims), attention_mask: new ort.Tensor('int64', b.attentionMask, dims) };
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', b.tokenTypeIds, dims);
    await session.run(feeds);
  }
}
