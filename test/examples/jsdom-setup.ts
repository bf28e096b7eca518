// src/test/jsdom-setup.ts
// Vitest's jsdom environment replaces the global Uint8Array and ArrayBuffer with jsdom's own, while
// WebCrypto and TextEncoder still return Node's: `instanceof` checks in protocol code then fail
// (vitest-dev/vitest#5685). Put Node's back; happy-dom needs none of this.
const NodeUint8Array = new TextEncoder().encode('').constructor as Uint8ArrayConstructor
globalThis.Uint8Array = NodeUint8Array
globalThis.ArrayBuffer = new NodeUint8Array(0).buffer.constructor as ArrayBufferConstructor
