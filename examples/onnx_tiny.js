// onnx_tiny.js: writes a tiny ONNX model whose weights live in an external data file, so
// onnxruntime maps model.onnx.data (a file the default --swap globs catch) when it loads:
//   y = Relu(x · W + b)      x: float[1,N]   W: float[N,M]   b: float[M]   y: float[1,M]
// W and b are deterministic pseudo-random floats (xorshift32 from SEED) stored with
// data_location=EXTERNAL in DIR/model.onnx.data, W at offset 0 and b at the next 64 KiB
// boundary (onnxruntime maps an initializer only when its offset is aligned to the
// allocation granularity).  The protobuf is hand-encoded (onnx.proto field numbers below),
// so nothing but node is needed.
//   node onnx_tiny.js DIR [SEED] [N] [M]      (defaults 42 1024 1024: a 4 MiB data file)
'use strict';
const fs = require('fs');
const path = require('path');

// ---- protobuf wire format ----
function varint(n) {
	let v = BigInt(n);
	const out = [];
	do {
		let b = Number(v & 0x7fn);
		v >>= 7n;
		if (v) b |= 0x80;
		out.push(b);
	} while (v);
	return Buffer.from(out);
}
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => Buffer.concat([key(field, 0), varint(n)]);
const bytes = (field, b) => {
	b = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
	return Buffer.concat([key(field, 2), varint(b.length), b]);
};
const msg = (field, ...parts) => bytes(field, Buffer.concat(parts.flat()));

// ---- onnx.proto messages used (field numbers from onnx/onnx.proto) ----
const FLOAT = 1;        // TensorProto.DataType.FLOAT
const EXTERNAL = 1;     // TensorProto.DataLocation.EXTERNAL
// StringStringEntryProto { key = 1; value = 2; }
const entry = (field, k, v) => msg(field, bytes(1, k), bytes(2, String(v)));
// TensorProto { dims = 1; data_type = 2; name = 8; external_data = 13; data_location = 14; }
const extTensor = (field, name, dims, location, offset, length) => msg(field,
	dims.map((d) => int(1, d)), int(2, FLOAT), bytes(8, name),
	entry(13, 'location', location), entry(13, 'offset', offset), entry(13, 'length', length),
	int(14, EXTERNAL));
// ValueInfoProto { name = 1; type = 2; }  TypeProto { tensor_type = 1; }
// TypeProto.Tensor { elem_type = 1; shape = 2; }  TensorShapeProto { dim = 1; }
// TensorShapeProto.Dimension { dim_value = 1; }
const valueInfo = (field, name, dims) => msg(field, bytes(1, name),
	msg(2, msg(1, int(1, FLOAT), msg(2, dims.map((d) => msg(1, int(1, d)))))));
// NodeProto { input = 1; output = 2; name = 3; op_type = 4; }
const node = (field, op, inputs, outputs) => msg(field, inputs.map((s) => bytes(1, s)),
	outputs.map((s) => bytes(2, s)), bytes(3, op.toLowerCase()), bytes(4, op));

function main() {
	const [dir, seedArg = '42', nArg = '1024', mArg = '1024'] = process.argv.slice(2);
	if (!dir) {
		console.error('usage: node onnx_tiny.js DIR [SEED] [N] [M]');
		process.exit(2);
	}
	const N = Number(nArg), M = Number(mArg);
	let s = (Number(seedArg) >>> 0) || 1;
	const rand = () => {          // xorshift32 -> [-1, 1)
		s ^= s << 13; s >>>= 0;
		s ^= s >>> 17;
		s ^= s << 5; s >>>= 0;
		return s / 2147483648 - 1;
	};
	const scale = 1 / Math.sqrt(N);
	const W = new Float32Array(N * M);
	for (let i = 0; i < W.length; i++) W[i] = rand() * scale;
	const b = new Float32Array(M);
	for (let i = 0; i < M; i++) b[i] = rand() * 0.1;

	const align = 65536;
	const wLen = W.byteLength, bOff = Math.ceil(wLen / align) * align, bLen = b.byteLength;
	const data = Buffer.alloc(bOff + bLen);
	Buffer.from(W.buffer).copy(data, 0);
	Buffer.from(b.buffer).copy(data, bOff);   // Float32Array is little-endian on x86/arm

	const dataName = 'model.onnx.data';
	const graph = msg(7,                               // ModelProto.graph = 7
		node(1, 'MatMul', ['x', 'W'], ['xw']),         // GraphProto.node = 1
		node(1, 'Add', ['xw', 'b'], ['xwb']),
		node(1, 'Relu', ['xwb'], ['y']),
		bytes(2, 'allocguard_tiny'),                   // GraphProto.name = 2
		extTensor(5, 'W', [N, M], dataName, 0, wLen),  // GraphProto.initializer = 5
		extTensor(5, 'b', [M], dataName, bOff, bLen),
		valueInfo(11, 'x', [1, N]),                    // GraphProto.input = 11
		valueInfo(12, 'y', [1, M]));                   // GraphProto.output = 12
	const model = Buffer.concat([
		int(1, 8),                                     // ModelProto.ir_version = 1
		bytes(2, 'allocguard'),                        // ModelProto.producer_name = 2
		msg(8, bytes(1, ''), int(2, 13)),              // opset_import = 8 {domain=1, version=2}
		graph,
	]);
	fs.mkdirSync(dir, { recursive: true });
	for (const [name, buf] of [[dataName, data], ['model.onnx', model]]) {
		const tmp = path.join(dir, name + '.tmp');
		fs.writeFileSync(tmp, buf);
		fs.renameSync(tmp, path.join(dir, name));
	}
	console.log(`wrote ${path.join(dir, 'model.onnx')} (${model.length} bytes) and ` +
		`${dataName} (${data.length} bytes)`);
}

main();
