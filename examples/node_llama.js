// node_llama.js: loads a GGUF with node-llama-cpp (llama.cpp maps it PROT_READ,
// MAP_SHARED|MAP_POPULATE) and prints a greedy completion, so runs bare and under the guard
// can be compared.  A failed load is an ordinary error: exit 1 with the message.
//   NLC_DIR=DIR node node_llama.js MODEL.gguf [PROMPT]   (DIR holds node_modules/node-llama-cpp)
'use strict';
const path = require('path');
const { pathToFileURL } = require('url');

async function main() {
	const [modelPath, prompt = 'Once upon a time'] = process.argv.slice(2);
	const dir = process.env.NLC_DIR;
	if (!modelPath || !dir) {
		console.error('usage: NLC_DIR=DIR node node_llama.js MODEL.gguf [PROMPT]');
		process.exit(2);
	}
	const entry = path.join(dir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
	const { getLlama, LlamaCompletion } = await import(pathToFileURL(entry).href);
	const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
	let model;
	try {
		model = await llama.loadModel({ modelPath, gpuLayers: 0 });
	} catch (e) {
		console.log(`load=failed error=${JSON.stringify(String(e && e.message || e))}`);
		process.exit(1);
	}
	const context = await model.createContext({ contextSize: 128, threads: 1 });
	const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
	const text = await completion.generateCompletion(prompt, {
		maxTokens: 12, temperature: 0, seed: 1,
	});
	console.log(`load=ok completion=${JSON.stringify(text)}`);
	await context.dispose();
	await model.dispose();
	await llama.dispose();
}

main().catch((e) => {
	console.log(`error=${JSON.stringify(String(e && e.message || e))}`);
	process.exit(1);
});
