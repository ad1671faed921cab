/*
 * main.c - the planverify command line: dispatches to one verb.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} verbs[] = {
    {"serve", pv_cli_serve, "run the gRPC service"},
    {"check", pv_cli_check, "verify plan files against their specs"},
    {"test", pv_cli_test, "run each spec's own tests"},
    {"verify", pv_cli_verify, "verify plan files through a running service"},
    {"lint", pv_cli_lint, "check specs: load errors and the review checklist"},
    {"audit", pv_cli_audit, "verify historical traces (JSON lines) in parallel"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: planverify VERB [options] [files...]\n\nverbs:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(out, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "\nplanverify VERB --help shows a verb's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PV_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("planverify %s\n", PV_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "planverify: unknown verb '%s'\n", argv[1]);
    usage(stderr);
    return PV_EXIT_USAGE;
}
