/* Sends one datagram to abaco's results socket: the bytes of FILE when given, else of $MSG.
 * RESULT_REPEAT=n sends it n times (to exercise the worker's result cap). Static, no libc
 * surprises in a FROM scratch image. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKET_PATH "/_abaco_results.sock"
#define MAX_DATAGRAM (200 * 1024)

static size_t read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

int main(int argc, char **argv) {
    static char buf[MAX_DATAGRAM];
    size_t len;
    if (argc > 1) {
        len = read_file(argv[1], buf, sizeof buf);
    } else {
        const char *msg = getenv("MSG");
        if (!msg) msg = "";
        len = strlen(msg);
        if (len > sizeof buf) len = sizeof buf;
        memcpy(buf, msg, len);
    }
    int repeat = 1;
    const char *r = getenv("RESULT_REPEAT");
    if (r && atoi(r) > 0) repeat = atoi(r);

    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0) { perror("socket"); return 2; }
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, SOCKET_PATH, sizeof addr.sun_path - 1);
    for (int i = 0; i < repeat; i++) {
        if (sendto(fd, buf, len, 0, (struct sockaddr *)&addr, sizeof addr) < 0) {
            fprintf(stderr, "sendto %s: %s\n", SOCKET_PATH, strerror(errno));
            return 2;
        }
    }
    close(fd);
    printf("sent %d result datagram(s) of %zu bytes\n", repeat, len);
    return 0;
}
