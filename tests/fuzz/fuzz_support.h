/*
 * fuzz_support.h - what the plan and protobuf fuzz targets share: a small
 * spec, embedded so that a target needs no files, loaded once per process.
 */
#ifndef PV_FUZZ_SUPPORT_H
#define PV_FUZZ_SUPPORT_H

#include "pv_spec.h"

/* The embedded spec's YAML text. */
extern const char pv_fuzz_spec_text[];

/*
 * The embedded spec, loaded on the first call and kept for the life of the
 * process (the fuzzer never returns to free it; it stays reachable, so the
 * leak checker does not count it). A spec that does not load is a broken
 * harness, not a finding: it prints the diagnostics and exits.
 */
const pv_spec *pv_fuzz_spec(void);

#endif
