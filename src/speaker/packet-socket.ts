// Raw Ethernet frames on one interface, through the small Node-API addon in ./native (AF_PACKET; no npm library
// builds and loads on Node 24 without the full Node headers, see native/README.md). The addon is loaded on first use so
// that the pure parts of the speaker, and everything else, work where it is not built.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMac, readMac, writeMac } from './ethernet.ts';

/** Which frames the socket receives: ARP, or only ICMPv6 neighbor solicitations and advertisements. */
export type PacketKind = 'arp' | 'ndp';

export interface PacketSocket {
  readonly ifname: string;
  readonly ifindex: number;
  /** The interface's MAC, the one the speaker answers with. */
  readonly mac: string;
  /** Sends one whole Ethernet frame; throws on a socket error (EAGAIN included: the caller counts it and moves on). */
  send(frame: Uint8Array): void;
  /** Receives frames sent to this link-layer multicast group (for NDP: an address's solicited-node group MAC). */
  addMulticast(mac: string): void;
  dropMulticast(mac: string): void;
  /** Stops receiving and closes the socket; the frame callback is not called again. Idempotent. */
  close(): void;
}

/** The interface as the kernel has it now. */
export interface LinkState {
  ifindex: number;
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
}

/** Called once when the socket fails (ENETDOWN after a link-down, ENODEV once the interface is gone): it receives
 * nothing more, and the caller should close it and open another. `code` is the errno name. */
export type SocketErrorHandler = (code: string, message: string) => void;

interface NativeSocket {
  ifindex: number;
  mac: Buffer;
  send(frame: Buffer): void;
  addMulticast(mac: Buffer): void;
  dropMulticast(mac: Buffer): void;
  close(): void;
}

interface NativeAddon {
  open(ifname: string, kind: PacketKind, onFrame: (frame: Buffer) => void, onError?: SocketErrorHandler): NativeSocket;
  link(ifname: string): { ifindex: number; mac: Buffer; up: boolean } | null;
}

// Where the addon is, first found: DRAWBRIDGE_PACKET_SOCKET_ADDON (an image copies it where it likes); node-gyp's
// build beside these sources (a checkout, after scripts/build-native); the prebuilt one the npm package carries in
// dist/native/<platform>-<arch>/ (prepack builds it, for linux-x64 only: see scripts/build-native).
const BUILT = fileURLToPath(new URL('./native/build/Release/packet_socket.node', import.meta.url));
const PLATFORM = `${process.platform}-${process.arch}`;
const PREBUILT = fileURLToPath(new URL(`../../native/${PLATFORM}/packet_socket.node`, import.meta.url));
export const ADDON_PATH =
  process.env.DRAWBRIDGE_PACKET_SOCKET_ADDON || (!existsSync(BUILT) && existsSync(PREBUILT) ? PREBUILT : BUILT);

/** Why the addon could not be loaded, in one line that says what to do on this platform. */
function addonMissing(error: unknown): string {
  if (existsSync(ADDON_PATH)) {
    // There but not loadable here (another libc, a corrupt file): the loader's own first line says which.
    return `cannot load the packet socket addon ${ADDON_PATH}: ${String((error as Error)?.message).split('\n')[0]}`;
  }
  if (process.platform !== 'linux') return `the speaker runs on Linux only (AF_PACKET raw sockets), not ${PLATFORM}`;
  if (PLATFORM !== 'linux-x64') {
    return (
      `the package carries the speaker's packet-socket addon for linux-x64 only, not ${PLATFORM}: build it from a ` +
      'checkout (scripts/build-native, needs make and a C compiler) and set DRAWBRIDGE_PACKET_SOCKET_ADDON to the .node file'
    );
  }
  return `the packet socket addon is not built (${ADDON_PATH}); run scripts/build-native`;
}

let addon: NativeAddon | undefined;

function loadAddon(): NativeAddon {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    } catch (error) {
      throw new Error(addonMissing(error), { cause: error });
    }
  }
  return addon;
}

/** Opens a raw socket on `ifname` (needs CAP_NET_RAW); `onFrame` gets each received frame on the main thread. */
export function openPacketSocket(
  ifname: string,
  kind: PacketKind,
  onFrame: (frame: Buffer) => void,
  onError?: SocketErrorHandler,
): PacketSocket {
  const native = loadAddon().open(ifname, kind, onFrame, onError);
  let closed = false;
  return {
    ifname,
    ifindex: native.ifindex,
    mac: readMac(native.mac, 0),
    send: (frame) =>
      native.send(Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length)),
    addMulticast: (mac) => native.addMulticast(macBytes(mac)),
    dropMulticast: (mac) => native.dropMulticast(macBytes(mac)),
    close: () => {
      if (closed) return;
      closed = true;
      native.close();
    },
  };
}

/** `ifname`'s index, MAC and whether it is up, or null if there is no such interface (ioctls, no privilege needed). */
export function readLink(ifname: string): LinkState | null {
  const link = loadAddon().link(ifname);
  return link === null ? null : { ifindex: link.ifindex, mac: readMac(link.mac, 0), up: link.up };
}

function macBytes(mac: string): Buffer {
  if (!isMac(mac)) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  const bytes = Buffer.alloc(6);
  writeMac(bytes, 0, mac);
  return bytes;
}
