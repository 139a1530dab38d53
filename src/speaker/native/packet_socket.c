// A Linux AF_PACKET socket for Node, the smallest one the speaker needs: open a raw Ethernet socket on one
// interface for ARP or for IPv6 neighbor discovery, receive whole frames through a callback (recvfrom drained on a
// libuv poll handle, on the main thread, no extra threads), send whole frames, and join link-layer multicast groups.
// Frame parsing and building stay in TypeScript (../arp.ts, ../ndp.ts). Needs CAP_NET_RAW.
// A socket error (the link going down, the interface deleted) is reported once through onError and ends reading:
// libuv stops a poll handle on POLLERR, so the caller closes the socket and opens a new one (../link-watch.ts).
//
// Node-API only (plus libuv for the poll handle), so one build loads on every Node with Node-API 8.
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define MAX_FRAME 2048
#define MAX_FRAMES_PER_WAKE 64

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int ifindex;
  int closing;        // close() called: no more callbacks, no more sends
  int handle_closed;  // libuv released the poll handle and the fd is closed
  int collected;      // the JS object was garbage-collected
  int failed;         // onError was called: the socket reads nothing more
  napi_ref self;     // strong while open: an open socket is not collected
  napi_ref callback; // (frame: Buffer) => void
  napi_ref on_error; // (code: string, message: string) => void, or NULL
  napi_async_context async;
} packet_socket;

#define CHECK(call)                                                                                                    \
  do {                                                                                                                 \
    if ((call) != napi_ok) return NULL;                                                                                \
  } while (0)

// The error's code is libuv's name for errno ("ENETDOWN", "ENXIO", ...), the same names Node uses.
static const char *errno_code(int err) { return uv_err_name(uv_translate_sys_error(err)); }

static napi_value throw_errno(napi_env env, const char *what) {
  int err = errno;
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, errno_code(err), message);
  return NULL;
}

// Classic BPF over the whole frame: for ARP keep everything the protocol binding lets through; for IPv6 keep only
// ICMPv6 neighbor solicitations and advertisements (no extension headers), so ordinary IPv6 traffic never reaches
// user space.
static struct sock_filter ndp_filter[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),               // ethertype
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 6), //
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20),               // next header
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 58, 0, 4),        // ICMPv6
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 54),               // ICMPv6 type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 135, 1, 0),       // solicitation
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 136, 0, 1),       // advertisement
    BPF_STMT(BPF_RET | BPF_K, 0x40000),                   // accept
    BPF_STMT(BPF_RET | BPF_K, 0),                         // drop
};

// The struct lives until both libuv has released the handle and the JS object that wraps it is gone, whichever
// comes last, so neither a late poll callback nor a method called after close() touches freed memory.
static void on_closed(uv_handle_t *handle) {
  packet_socket *s = handle->data;
  close(s->fd);
  s->handle_closed = 1;
  if (s->collected) free(s);
}

static void on_collected(napi_env env, void *data, void *hint) {
  packet_socket *s = data;
  s->collected = 1;
  if (s->handle_closed) free(s);
}

// Stops polling, releases the JS references and closes the fd once libuv lets go of the handle.
static void shut(packet_socket *s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  napi_delete_reference(s->env, s->callback);
  if (s->on_error != NULL) napi_delete_reference(s->env, s->on_error);
  napi_async_destroy(s->env, s->async);
  napi_reference_unref(s->env, s->self, NULL);
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

// Stops reading and tells JS why, once. `err` is an errno; the socket's pending error (SO_ERROR) names it better
// when there is one.
static void fail(packet_socket *s, napi_value self, int err) {
  if (s->failed || s->closing) return;
  s->failed = 1;
  uv_poll_stop(&s->poll);
  int pending = 0;
  socklen_t length = sizeof pending;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &pending, &length) == 0 && pending != 0) err = pending;
  if (s->on_error == NULL) return;
  napi_env env = s->env;
  napi_value on_error, argv[2], result;
  char message[128];
  snprintf(message, sizeof message, "packet socket: %s", strerror(err));
  if (napi_get_reference_value(env, s->on_error, &on_error) != napi_ok ||
      napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &argv[0]) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[1]) != napi_ok)
    return;
  if (napi_make_callback(env, s->async, self, on_error, 2, argv, &result) != napi_ok) {
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  packet_socket *s = poll->data;
  if (s->closing || s->failed) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, self;
  napi_get_reference_value(env, s->callback, &callback);
  napi_get_reference_value(env, s->self, &self);
  if (status < 0) {
    // POLLERR: libuv has already stopped the handle.
    fail(s, self, -status == EBADF ? EIO : -status);
    napi_close_handle_scope(env, scope);
    return;
  }
  unsigned char frame[MAX_FRAME];
  for (int i = 0; i < MAX_FRAMES_PER_WAKE && !s->closing; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(s->fd, frame, sizeof frame, MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      // EAGAIN: drained. Anything else is the socket's error (ENETDOWN after a link-down, ENODEV once the interface
      // is gone), which no later read clears.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail(s, self, errno);
      break;
    }
    if (from.sll_pkttype == PACKET_OUTGOING || n > MAX_FRAME) continue;
    napi_value buffer;
    void *data;
    if (napi_create_buffer_copy(env, (size_t)n, frame, &data, &buffer) != napi_ok) break;
    napi_value result;
    if (napi_make_callback(env, s->async, self, callback, 1, &buffer, &result) != napi_ok) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
      break;
    }
  }
  napi_close_handle_scope(env, scope);
}

static packet_socket *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  packet_socket *s;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&s) != napi_ok) return NULL;
  if (s->closing) {
    napi_throw_error(env, "ERR_SOCKET_CLOSED", "packet socket is closed");
    return NULL;
  }
  return s;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  packet_socket *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  void *data;
  size_t length;
  bool is_buffer = false;
  napi_is_buffer(env, argv[0], &is_buffer);
  if (argc < 1 || !is_buffer || napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "send(frame): frame must be a Buffer");
    return NULL;
  }
  if (length < 14) {
    napi_throw_range_error(env, NULL, "send(frame): shorter than an Ethernet header");
    return NULL;
  }
  if (send(s->fd, data, length, 0) < 0) return throw_errno(env, "send");
  return NULL;
}

static napi_value membership(napi_env env, napi_callback_info info, int option) {
  size_t argc = 1;
  napi_value argv[1];
  packet_socket *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  void *data;
  size_t length = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[0], &is_buffer);
  if (argc < 1 || !is_buffer || napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok || length != 6) {
    napi_throw_type_error(env, NULL, "multicast membership: MAC must be a 6-byte Buffer");
    return NULL;
  }
  struct packet_mreq mreq = {.mr_ifindex = s->ifindex, .mr_type = PACKET_MR_MULTICAST, .mr_alen = 6};
  memcpy(mreq.mr_address, data, 6);
  if (setsockopt(s->fd, SOL_PACKET, option, &mreq, sizeof mreq) < 0) return throw_errno(env, "setsockopt membership");
  return NULL;
}

static napi_value js_add_multicast(napi_env env, napi_callback_info info) {
  return membership(env, info, PACKET_ADD_MEMBERSHIP);
}

static napi_value js_drop_multicast(napi_env env, napi_callback_info info) {
  return membership(env, info, PACKET_DROP_MEMBERSHIP);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value self;
  packet_socket *s;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  CHECK(napi_unwrap(env, self, (void **)&s));
  shut(s);
  return NULL;
}

// open(ifname: string, kind: 'arp' | 'ndp', onFrame: (frame: Buffer) => void, onError?: (code, message) => void)
//   -> { ifindex: number, mac: Buffer, send(frame), addMulticast(mac), dropMulticast(mac), close() }
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IFNAMSIZ], kind[8];
  size_t len;
  napi_valuetype callback_type = napi_undefined, error_type = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &callback_type);
  if (argc >= 4) napi_typeof(env, argv[3], &error_type);
  size_t name_length = IFNAMSIZ;
  if (argc >= 1) napi_get_value_string_utf8(env, argv[0], NULL, 0, &name_length);
  if (name_length == 0 || name_length >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "open: ifname must be 1 to 15 characters");
    return NULL;
  }
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], kind, sizeof kind, &len) != napi_ok ||
      callback_type != napi_function || (error_type != napi_undefined && error_type != napi_function)) {
    napi_throw_type_error(env, NULL, "open(ifname, 'arp' | 'ndp', onFrame, onError?)");
    return NULL;
  }
  int ndp = strcmp(kind, "ndp") == 0;
  if (!ndp && strcmp(kind, "arp") != 0) {
    napi_throw_type_error(env, NULL, "open: kind must be 'arp' or 'ndp'");
    return NULL;
  }
  int protocol = htons(ndp ? ETH_P_IPV6 : ETH_P_ARP);

  // Protocol 0 until bound, so nothing from another interface is queued before the bind.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, name_length + 1);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) goto fail_ioctl_index;
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) goto fail_ioctl_mac;
  unsigned char mac[6];
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one); // best effort (Linux 4.20+)
  if (ndp) {
    struct sock_fprog program = {.len = sizeof ndp_filter / sizeof ndp_filter[0], .filter = ndp_filter};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) < 0) goto fail_filter;
  }
  struct sockaddr_ll address = {.sll_family = AF_PACKET, .sll_protocol = protocol, .sll_ifindex = ifindex};
  if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) goto fail_bind;

  packet_socket *s = calloc(1, sizeof *s);
  s->env = env;
  s->fd = fd;
  s->ifindex = ifindex;
  s->poll.data = s;
  uv_loop_t *loop;
  napi_value self, resource_name, value;
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_object(env, &self));
  CHECK(napi_wrap(env, self, s, on_collected, NULL, NULL));
  CHECK(napi_create_reference(env, self, 1, &s->self));
  CHECK(napi_create_reference(env, argv[2], 1, &s->callback));
  if (error_type == napi_function) CHECK(napi_create_reference(env, argv[3], 1, &s->on_error));
  CHECK(napi_create_string_utf8(env, "drawbridge:packet-socket", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(napi_async_init(env, self, resource_name, &s->async));
  CHECK(napi_create_int32(env, ifindex, &value));
  CHECK(napi_set_named_property(env, self, "ifindex", value));
  void *mac_data;
  CHECK(napi_create_buffer_copy(env, 6, mac, &mac_data, &value));
  CHECK(napi_set_named_property(env, self, "mac", value));
  napi_property_descriptor methods[] = {
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"addMulticast", NULL, js_add_multicast, NULL, NULL, NULL, napi_default, NULL},
      {"dropMulticast", NULL, js_drop_multicast, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, self, sizeof methods / sizeof methods[0], methods));
  if (uv_poll_init(loop, &s->poll, fd) != 0 || uv_poll_start(&s->poll, UV_READABLE, on_readable) != 0) {
    napi_throw_error(env, NULL, "uv_poll_start failed");
    return NULL;
  }
  return self;

fail_ioctl_index: {
    char what[64];
    snprintf(what, sizeof what, "no interface %s", ifname);
    close(fd);
    return throw_errno(env, what);
  }
fail_ioctl_mac:
  close(fd);
  return throw_errno(env, "SIOCGIFHWADDR");
fail_filter:
  close(fd);
  return throw_errno(env, "SO_ATTACH_FILTER");
fail_bind:
  close(fd);
  return throw_errno(env, "bind(AF_PACKET)");
}

// link(ifname: string) -> { ifindex: number, mac: Buffer, up: boolean } | null (no such interface), as the kernel
// has it now: what the caller compares with an open socket's to notice the interface re-created or its MAC changed.
static napi_value js_link(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IFNAMSIZ];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok || len == 0) {
    napi_throw_type_error(env, NULL, "link(ifname)");
    return NULL;
  }
  // Any socket serves for these ioctls; a UDP one needs no privilege.
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_INET)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, len + 1);
  napi_value result = NULL, value;
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
    int err = errno;
    close(fd);
    if (err == ENODEV || err == ENXIO) {
      napi_get_null(env, &result);
      return result;
    }
    errno = err;
    return throw_errno(env, "SIOCGIFINDEX");
  }
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) goto fail;
  int up = (ifr.ifr_flags & IFF_UP) != 0;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) goto fail;
  close(fd);
  void *mac_data;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_int32(env, ifindex, &value));
  CHECK(napi_set_named_property(env, result, "ifindex", value));
  CHECK(napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, &mac_data, &value));
  CHECK(napi_set_named_property(env, result, "mac", value));
  CHECK(napi_get_boolean(env, up, &value));
  CHECK(napi_set_named_property(env, result, "up", value));
  return result;
fail: {
    int err = errno;
    close(fd);
    if (err == ENODEV || err == ENXIO) {
      napi_get_null(env, &result);
      return result;
    }
    errno = err;
    return throw_errno(env, "link ioctl");
  }
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value open, link;
  if (napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &open) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "open", open) != napi_ok) return NULL;
  if (napi_create_function(env, "link", NAPI_AUTO_LENGTH, js_link, NULL, &link) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "link", link) != napi_ok) return NULL;
  return exports;
}
