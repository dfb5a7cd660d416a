// gguf_tiny.js: writes a tiny random-weight llama GGUF (2 layers, 64-wide, f32) around the
// tokenizer of a vocab-only GGUF from llama.cpp's models/ directory, so node-llama-cpp can
// load and generate without any real model.  No dependencies (gguf-py needs numpy).
//   node gguf_tiny.js VOCAB.gguf OUT.gguf [seed] [width]   (width: embedding size, 64)
'use strict';
const fs = require('fs');

const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STR: 8, ARR: 9,
	    U64: 10, I64: 11, F64: 12 };
const SCALAR = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

// Reads the header and key/values of a GGUF, keeping each value's raw bytes.
function readKv(buf) {
	let p = 0;
	const u32 = () => { const v = buf.readUInt32LE(p); p += 4; return v; };
	const u64 = () => { const v = Number(buf.readBigUInt64LE(p)); p += 8; return v; };
	const str = () => { const n = u64(); const s = buf.toString('utf8', p, p + n); p += n; return s; };
	const skip = (type) => {
		if (type === T.STR) { const n = u64(); p += n; return; }
		if (type === T.ARR) { const et = u32(); const n = u64();
			if (et in SCALAR) p += SCALAR[et] * n; else for (let i = 0; i < n; i++) skip(et);
			return; }
		p += SCALAR[type];
	};
	if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error('not a GGUF file');
	p = 4;
	const version = u32(), ntensors = u64(), nkv = u64();
	const kv = [];
	for (let i = 0; i < nkv; i++) {
		const key = str(), type = u32(), start = p;
		skip(type);
		kv.push({ key, type, raw: buf.subarray(start, p) });
	}
	return { version, ntensors, kv };
}

class Out {
	constructor() { this.parts = []; this.len = 0; }
	put(b) { this.parts.push(b); this.len += b.length; }
	u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.put(b); }
	u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.put(b); }
	f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.put(b); }
	str(s) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.put(b); }
	pad(a) { const n = (a - this.len % a) % a; if (n) this.put(Buffer.alloc(n)); }
}

function main() {
	const [vocabPath, outPath, seedArg, widthArg] = process.argv.slice(2);
	if (!vocabPath || !outPath) {
		console.error('usage: node gguf_tiny.js VOCAB.gguf OUT.gguf [seed] [width]');
		process.exit(2);
	}
	const vocab = readKv(fs.readFileSync(vocabPath));
	const tok = vocab.kv.filter((e) => e.key.startsWith('tokenizer.'));
	const tokens = tok.find((e) => e.key === 'tokenizer.ggml.tokens');
	if (!tokens) throw new Error('no tokenizer.ggml.tokens in ' + vocabPath);
	const nVocab = Number(tokens.raw.readBigUInt64LE(4));
	const E = Number(widthArg || 64), L = 2, H = 4, FF = 2 * E, CTX = 512, ALIGN = 32;

	const kvOut = new Out();
	let nkv = 0;
	const kvStr = (k, v) => { kvOut.str(k); kvOut.u32(T.STR); kvOut.str(v); nkv++; };
	const kvU32 = (k, v) => { kvOut.str(k); kvOut.u32(T.U32); kvOut.u32(v); nkv++; };
	const kvF32 = (k, v) => { kvOut.str(k); kvOut.u32(T.F32); kvOut.f32(v); nkv++; };
	kvStr('general.architecture', 'llama');
	kvStr('general.name', 'allocguard-tiny');
	kvU32('general.alignment', ALIGN);
	kvU32('general.file_type', 0);
	kvU32('llama.context_length', CTX);
	kvU32('llama.embedding_length', E);
	kvU32('llama.block_count', L);
	kvU32('llama.feed_forward_length', FF);
	kvU32('llama.attention.head_count', H);
	kvU32('llama.attention.head_count_kv', H);
	kvU32('llama.rope.dimension_count', E / H);
	kvU32('llama.vocab_size', nVocab);
	kvF32('llama.attention.layer_norm_rms_epsilon', 1e-5);
	for (const e of tok) {
		kvOut.str(e.key);
		kvOut.u32(e.type);
		kvOut.put(e.raw);
		nkv++;
	}

	const tensors = [['token_embd.weight', [E, nVocab]], ['output_norm.weight', [E]],
			 ['output.weight', [E, nVocab]]];
	for (let i = 0; i < L; i++) {
		const b = `blk.${i}.`;
		tensors.push([b + 'attn_norm.weight', [E]], [b + 'attn_q.weight', [E, E]],
			     [b + 'attn_k.weight', [E, E]], [b + 'attn_v.weight', [E, E]],
			     [b + 'attn_output.weight', [E, E]], [b + 'ffn_norm.weight', [E]],
			     [b + 'ffn_gate.weight', [E, FF]], [b + 'ffn_down.weight', [FF, E]],
			     [b + 'ffn_up.weight', [E, FF]]);
	}

	const out = new Out();
	out.put(Buffer.from('GGUF'));
	out.u32(3);
	out.u64(tensors.length);
	out.u64(nkv);
	for (const b of kvOut.parts) out.put(b);
	let offset = 0;
	const datas = [];
	let x = BigInt(seedArg || 42) | 1n;
	const rand = () => {   // xorshift64*, uniform in [-1, 1)
		x ^= x >> 12n; x ^= (x << 25n) & 0xffffffffffffffffn; x ^= x >> 27n;
		const r = (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
		return Number(r >> 40n) / 8388608 - 1;
	};
	for (const [name, dims] of tensors) {
		const n = dims.reduce((a, b) => a * b, 1);
		const data = Buffer.alloc(n * 4);
		const norm = name.endsWith('norm.weight');
		for (let i = 0; i < n; i++)
			data.writeFloatLE(norm ? 1 : rand() * 0.5, i * 4);
		out.str(name);
		out.u32(dims.length);
		for (const d of dims) out.u64(d);
		out.u32(0);   // GGML_TYPE_F32
		out.u64(offset);
		datas.push(data);
		offset += data.length + (ALIGN - data.length % ALIGN) % ALIGN;
	}
	out.pad(ALIGN);
	for (const d of datas) {
		out.put(d);
		out.pad(ALIGN);
	}
	fs.writeFileSync(outPath, Buffer.concat(out.parts));
	console.log(`wrote ${outPath}: ${out.len} bytes, ${nVocab} tokens, ${tensors.length} tensors`);
}

main();
