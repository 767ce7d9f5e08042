/*
 * Winsock behaviours node-mio's tests depend on, checked without node-mio
 * (plain Winsock, no mio, no Node), so that a difference between Wine and
 * Windows can be told from a node-mio bug. `npm run cross` builds it with
 * mingw-w64 and runs it under Wine (scripts/cross/README.md):
 *
 *   x86_64-w64-mingw32-gcc -O2 -o winsock-probe.exe winsock-probe.c -lws2_32
 *   wine winsock-probe.exe
 *
 * Each line: the probe, what Microsoft documents for Windows, what this
 * system did, and `same` or `DIFFERS`.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <stdio.h>

static int failures = 0;

static void report(const char *probe, const char *documented, int expected, int got) {
  printf("%-58s documented %-16s got %-6d %s\n", probe, documented, got, expected == got ? "same" : "DIFFERS");
  if (expected != got) failures++;
}

static SOCKET tcp(void) { return socket(AF_INET, SOCK_STREAM, IPPROTO_TCP); }

static struct sockaddr_in loopback(unsigned short port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

static unsigned short port_of(SOCKET s) {
  struct sockaddr_in a;
  int len = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &len);
  return ntohs(a.sin_port);
}

static SOCKET listener(unsigned short port) {
  SOCKET l = tcp();
  struct sockaddr_in a = loopback(port);
  if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 8) != 0) {
    closesocket(l);
    return INVALID_SOCKET;
  }
  return l;
}

static int so_error(SOCKET s) {
  int e = -1, len = sizeof e;
  getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&e, &len);
  return e;
}

/* A non-blocking connect to a closed port fails with WSAECONNREFUSED. */
static void refused_connect(void) {
  SOCKET l = listener(0);
  unsigned short port = port_of(l);
  closesocket(l);
  SOCKET s = tcp();
  u_long on = 1;
  ioctlsocket(s, FIONBIO, &on);
  struct sockaddr_in a = loopback(port);
  connect(s, (struct sockaddr *)&a, sizeof a);
  fd_set w, x;
  FD_ZERO(&w); FD_ZERO(&x); FD_SET(s, &w); FD_SET(s, &x);
  struct timeval tv = {5, 0};
  select(0, NULL, &w, &x, &tv);
  int first = so_error(s);
  int second = so_error(s);
  char buf[4];
  int n = recv(s, buf, sizeof buf, 0);
  int recv_error = n == SOCKET_ERROR ? WSAGetLastError() : n;
  report("refused connect: SO_ERROR", "WSAECONNREFUSED", WSAECONNREFUSED, first);
  report("refused connect: SO_ERROR read again (cleared by reading)", "0", 0, second);
  report("refused connect: recv() afterwards", "WSAENOTCONN", WSAENOTCONN, recv_error);
  int zero = 0;
  int set = setsockopt(s, SOL_SOCKET, SO_ERROR, (const char *)&zero, sizeof zero);
  report("setsockopt(SO_ERROR, 0) is allowed", "0", 0, set == 0 ? 0 : WSAGetLastError());
  report("refused connect: SO_ERROR after setting it to 0", "0", 0, so_error(s));
  closesocket(s);
}

/* send() on an unconnected UDP socket. */
static void unconnected_udp_send(void) {
  SOCKET u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  struct sockaddr_in a = loopback(0);
  bind(u, (struct sockaddr *)&a, sizeof a);
  int n = send(u, "x", 1, 0);
  report("send() on an unconnected UDP socket", "WSAENOTCONN", WSAENOTCONN, n == SOCKET_ERROR ? WSAGetLastError() : n);
  closesocket(u);
}

/* SO_LINGER {1, 0} then closesocket(): an abortive close, the peer is reset. */
static void linger_zero(void) {
  SOCKET l = listener(0);
  SOCKET c = tcp();
  struct sockaddr_in a = loopback(port_of(l));
  connect(c, (struct sockaddr *)&a, sizeof a);
  SOCKET s = accept(l, NULL, NULL);
  struct linger lg = {1, 0};
  setsockopt(c, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg);
  closesocket(c);
  Sleep(100);
  char buf[4];
  int n = recv(s, buf, sizeof buf, 0);
  report("peer of a linger-0 close: recv()", "WSAECONNRESET", WSAECONNRESET, n == SOCKET_ERROR ? WSAGetLastError() : n);
  closesocket(s);
  closesocket(l);
}

/*
 * A listener's port held by a closed connection (the server closed first,
 * so its end waits in TIME_WAIT): Windows lets a new listener bind it
 * without SO_REUSEADDR (Winsock's SO_REUSEADDR means something else:
 * sharing an active port).
 */
static void time_wait_rebind(void) {
  SOCKET l = listener(0);
  unsigned short port = port_of(l);
  SOCKET c = tcp();
  struct sockaddr_in a = loopback(port);
  connect(c, (struct sockaddr *)&a, sizeof a);
  SOCKET s = accept(l, NULL, NULL);
  closesocket(s);
  char buf[4];
  recv(c, buf, sizeof buf, 0);
  closesocket(c);
  closesocket(l);
  SOCKET again = listener(port);
  report("bind a port in TIME_WAIT without SO_REUSEADDR", "allowed (0)", 0, again == INVALID_SOCKET ? WSAGetLastError() : 0);
  if (again != INVALID_SOCKET) closesocket(again);
}

/* getsockopt(IPV6_V6ONLY) answers a DWORD (4 bytes). */
static void v6only_size(void) {
  SOCKET u = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
  DWORD off = 0;
  setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&off, sizeof off);
  int value = 0x7f7f7f7f, len = sizeof value;
  getsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&value, &len);
  report("getsockopt(IPV6_V6ONLY) length in bytes", "4", 4, len);
  report("getsockopt(IPV6_V6ONLY) into 0x7f7f7f7f after setting 0", "0", 0, value);
  closesocket(u);
}

int main(void) {
  WSADATA data;
  WSAStartup(MAKEWORD(2, 2), &data);
  refused_connect();
  unconnected_udp_send();
  linger_zero();
  time_wait_rebind();
  v6only_size();
  printf("%d differ from the documented Windows behaviour\n", failures);
  WSACleanup();
  return 0;
}
