/* A fork bomb that does not give up: every process forks again and again, retrying when the
 * kernel refuses. The first process stops after three seconds, says how many processes it
 * saw at the end, and exits; the container's end takes the rest with it. */
#include <dirent.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int count_processes(void) {
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    int n = 0;
    if (!proc) return -1;
    while ((entry = readdir(proc)) != NULL)
        if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9') n++;
    closedir(proc);
    return n;
}

int main(void) {
    time_t until = time(NULL) + 3;
    pid_t first = getpid();
    long refused = 0;
    for (;;) {
        pid_t child = fork();
        if (child < 0) {
            refused++;
            usleep(1000);
        }
        if (getpid() == first && time(NULL) >= until) {
            printf("processes=%d refused_forks=%ld\n", count_processes(), refused);
            fflush(stdout);
            return 0;
        }
    }
}
