// node:http (and node:https beside it) for the modules the long-running commands load, taken with
// process.getBuiltinModule() instead of an ES import. An ES import of node:http, in any form (even one named export),
// builds the module's ES facade, which reads every export, and three of them (WebSocket, CloseEvent, MessageEvent)
// are lazy getters that load undici, Node's fetch and WebSocket: measured +15 MB of the idle speaker's RSS for code
// it never runs (docs/benchmarks.md). node:https's facade does not do that; it is here so both are taken alike.
// Types: `import type` from node:http / node:https, which is erased.
export const http = process.getBuiltinModule('node:http');
export const https = process.getBuiltinModule('node:https');
