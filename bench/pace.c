/* Paces the TCP connections a server accepts on one port (SO_MAX_PACING_RATE): a bandwidth
   cap per connection, where nginx's limit_rate is per request. PACED_PORT and PACING_RATE
   (bytes per second) are read when the library loads: nginx clears its workers' environment. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

static int paced_port;
static unsigned int pacing_rate;

__attribute__((constructor)) static void configure(void) {
    const char *port = getenv("PACED_PORT"), *rate = getenv("PACING_RATE");
    if (port && rate) {
        paced_port = atoi(port);
        pacing_rate = (unsigned int)strtoul(rate, 0, 10);
    }
}

static int pace(int fd) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    if (fd >= 0 && paced_port && getsockname(fd, (struct sockaddr *)&a, &l) == 0 &&
        a.sin_family == AF_INET && ntohs(a.sin_port) == paced_port)
        setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &pacing_rate, sizeof pacing_rate);
    return fd;
}

int accept4(int s, struct sockaddr *addr, socklen_t *len, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    return pace(real(s, addr, len, flags));
}

int accept(int s, struct sockaddr *addr, socklen_t *len) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    return pace(real(s, addr, len));
}
