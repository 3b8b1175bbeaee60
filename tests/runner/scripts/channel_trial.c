/* A trial in C that hears prune decisions: hpsweep's channel, with no library.
 *
 *   cc -O2 -o trial channel_trial.c
 *   hpsweep run -n 20 -p 'lr=float(0.01,0.5,log)' -- ./trial --lr {lr}
 *
 * Without a channel (HPSWEEP_CHANNEL_FD unset) it prints marker lines instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    double lr = argc > 2 ? atof(argv[2]) : 0.1;
    const char *fd = getenv("HPSWEEP_CHANNEL_FD");
    FILE *to = fd ? fdopen(atoi(fd), "w") : NULL;
    FILE *from = fd ? fdopen(dup(atoi(fd)), "r") : NULL;
    double loss = 1.0;
    char answer[64];

    for (int step = 0; step < 10; step++) {
        loss *= 1.0 - lr;
        if (!to) {
            printf("hpsweep: {\"step\": %d, \"value\": %.17g}\n", step, loss);
            fflush(stdout);
            continue;
        }
        fprintf(to, "{\"v\":1,\"op\":\"report\",\"step\":%d,\"value\":%.17g}\n", step, loss);
        fprintf(to, "{\"v\":1,\"op\":\"should_prune\"}\n");
        fflush(to);
        /* the answer is {"v":1,"prune":true} or {"v":1,"prune":false}; no answer: hpsweep is gone */
        if (!fgets(answer, sizeof answer, from) || strstr(answer, "true"))
            return 0;
    }
    if (to) {
        fprintf(to, "{\"v\":1,\"op\":\"final\",\"result\":%.17g}\n", loss);
        fflush(to);
    } else {
        printf("hpsweep: {\"result\": %.17g}\n", loss);
    }
    return 0;
}
