// onnx_run.js: loads a model with onnxruntime-node (CPU) and runs one inference on a fixed
// input, printing a checksum and the first outputs, so runs bare and under the guard can be
// compared.  The model's external data (model.onnx.data, see onnx_tiny.js) is mapped by
// onnxruntime when the session is created.  A failed load is an ordinary error: exit 1 with
// the message.
//   ORT_DIR=DIR node onnx_run.js MODEL.onnx      (DIR holds node_modules/onnxruntime-node)
'use strict';
const path = require('path');

async function main() {
	const [modelPath] = process.argv.slice(2);
	const dir = process.env.ORT_DIR;
	if (!modelPath || !dir) {
		console.error('usage: ORT_DIR=DIR node onnx_run.js MODEL.onnx');
		process.exit(2);
	}
	const ort = require(path.join(dir, 'node_modules', 'onnxruntime-node'));
	let session;
	try {
		session = await ort.InferenceSession.create(modelPath, {
			executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
		});
	} catch (e) {
		console.log(`load=failed error=${JSON.stringify(String(e && e.message || e))}`);
		process.exit(1);
	}
	const meta = session.inputMetadata && session.inputMetadata[0];
	const n = meta && meta.shape ? meta.shape[1] : 1024;
	const x = new Float32Array(n);
	for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.37) * 0.5;
	const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, n]) });
	const y = out[session.outputNames[0]].data;
	// FNV-1a over the output's bytes: identical floats, identical checksum.
	let h = 0x811c9dc5;
	const u8 = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
	for (const c of u8) h = Math.imul(h ^ c, 0x01000193) >>> 0;
	let sum = 0;
	for (const v of y) sum += v;
	const first = Array.from(y.slice(0, 4), (v) => v.toPrecision(7)).join(',');
	console.log(`load=ok n=${y.length} fnv=${h.toString(16).padStart(8, '0')} ` +
		`sum=${sum.toPrecision(9)} first=${first}`);
	await session.release();
}

main().catch((e) => {
	console.log(`error=${JSON.stringify(String(e && e.message || e))}`);
	process.exit(1);
});
