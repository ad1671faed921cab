#!/usr/bin/python3
"""test_report.py - bench/report.py's arithmetic: which figures a comparison
flags (worse by more than 10% and by more than 2 pooled standard
deviations, in the figure's own direction), and the service section's
round-by-round ratios, including the two-process row, from a raw
directory of made-up bench_grpc results. Nothing is timed.

Ends with "N passed, M failed"; exit code non-zero on failure.
"""

import importlib.util
import json
import os
import sys
import tempfile
import unittest

SOURCE = os.environ.get("PV_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("report",
                                               os.path.join(SOURCE, "bench", "report.py"))
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def times(value, samples):
    return report.fig(value, samples, "us", "lower")


def rate(value, samples):
    return report.fig(value, samples, "calls/s", "higher")


class CompareTest(unittest.TestCase):
    def flagged_and_improved(self, base, new):
        flagged, improved, compared = report.compare({"f": base}, {"f": new})
        self.assertEqual(compared, 1)
        return [e["figure"] for e in flagged], [e["figure"] for e in improved]

    def test_worse_by_more_than_10_percent_and_2_sd_is_flagged(self):
        # pooled sd 1 (sum of squares 2 + 2 over 4 degrees of freedom)
        self.assertEqual(self.flagged_and_improved(times(100, [99, 100, 101]),
                                                   times(120, [119, 120, 121])), (["f"], []))

    def test_within_2_sd_is_not_flagged(self):
        # 15% worse, but the pooled sd is 20: noise
        self.assertEqual(self.flagged_and_improved(times(100, [80, 100, 120]),
                                                   times(115, [95, 115, 135])), ([], []))

    def test_within_10_percent_is_not_flagged(self):
        self.assertEqual(self.flagged_and_improved(times(100, [100, 100, 100]),
                                                   times(109, [109, 109, 109])), ([], []))

    def test_higher_is_better_for_rates(self):
        self.assertEqual(self.flagged_and_improved(rate(1000, [999, 1000, 1001]),
                                                   rate(800, [799, 800, 801])), (["f"], []))
        self.assertEqual(self.flagged_and_improved(rate(1000, [999, 1000, 1001]),
                                                   rate(1300, [1299, 1300, 1301])), ([], ["f"]))

    def test_figures_measured_once_go_by_10_percent(self):
        ir = lambda v: report.fig(v, None, "Ir", "lower")  # noqa: E731
        self.assertEqual(self.flagged_and_improved(ir(1000), ir(1110)), (["f"], []))
        self.assertEqual(self.flagged_and_improved(ir(1000), ir(1090)), ([], []))
        self.assertEqual(self.flagged_and_improved(ir(1000), ir(850)), ([], ["f"]))

    def test_only_figures_in_both_runs_are_compared(self):
        flagged, improved, compared = report.compare(
            {"a": times(1, [1]), "gone": times(1, [1])},
            {"a": times(1, [1]), "new": times(9, [9])})
        self.assertEqual((flagged, improved, compared), ([], [], 1))


def phase(method, thr, p50, cpu=100.0, ok=100, rnd=0):
    return {"method": method, "round": rnd, "ok": ok, "non_ok": 0, "throughput_per_s": thr,
            "p50_us": p50, "p90_us": p50, "p99_us": p50, "p99_9_us": p50,
            "server_cpu_pct": cpu, "client_cpu_pct": 10.0}


class ServiceReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.raw = self.tmp.name
        # Health and Verify on one connection, 1 and 2 threads, 2 rounds.
        self.write("grpc-t1-c4.jsonl", [phase("health", 10000, 100), phase("verify", 5000, 150),
                                        phase("health", 10000, 100, rnd=1),
                                        phase("verify", 4000, 160, rnd=1)])
        self.write("grpc-t2-c4.jsonl", [phase("health", 10000, 100), phase("verify", 6000, 140),
                                        phase("health", 10000, 100, rnd=1),
                                        phase("verify", 6000, 150, rnd=1)])
        # --solver-only: 1 thread, 2 threads, and two one-thread servers.
        self.write("grpc-solver-t1-c8.jsonl", [phase("verify", t, 5000, 104, rnd=i)
                                               for i, t in enumerate([1000, 1100, 900])])
        self.write("grpc-solver-t2-c8.jsonl", [phase("verify", t, 3500, 170, rnd=i)
                                               for i, t in enumerate([1800, 1900, 1700])])
        self.write("grpc-solver-p2a-c8.jsonl", [phase("verify", t, 3000, 90, rnd=i)
                                                for i, t in enumerate([950, 1000, 900])])
        self.write("grpc-solver-p2b-c8.jsonl", [phase("verify", t, 3200, 88, rnd=i)
                                                for i, t in enumerate([950, 1000, 850])])

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, phases):
        with open(os.path.join(self.raw, name), "w") as f:
            for p in phases:
                f.write(json.dumps(p) + "\n")

    def test_ratios_round_by_round(self):
        figures, _, md = report.service_report(self.raw)
        value = lambda k: round(figures[k]["value"], 4)  # noqa: E731
        # Verify: 6000/5000 and 6000/4000; V/H p50 150/100 and 160/100
        self.assertEqual(value("service/c4/verify/t2_t1_throughput"), 1.35)
        self.assertEqual(value("service/t1/c4/vh_p50_ratio"), 1.55)
        # 1800/1000, 1900/1100, 1700/900
        self.assertEqual(value("service/solver/c8/verify/t2_t1_throughput"), 1.8)
        # two servers: 1900, 2000, 1750 calls/s in all; against 1 thread
        # 1.9, 1.818..., 1.944...
        self.assertEqual(value("service/solver/c8/p2/verify/throughput_per_s"), 1900)
        self.assertEqual(value("service/solver/c8/verify/p2_t1_throughput"), 1.9)
        self.assertIn("| 2 | 8 | 1800 | 3500 | 170 | 1.80x |", md)
        self.assertIn("| 2 processes of 1 | 8 | 1900 | 3100 | 178 | 1.90x |", md)

    def test_one_client_missing_leaves_the_row_out(self):
        os.remove(os.path.join(self.raw, "grpc-solver-p2a-c8.jsonl"))
        figures, _, md = report.service_report(self.raw)
        self.assertNotIn("service/solver/c8/p2/verify/throughput_per_s", figures)
        self.assertNotIn("service/solver/c8/verify/p2_t1_throughput", figures)
        self.assertFalse([line for line in md if "2 processes" in line])
        self.assertEqual(round(figures["service/solver/c8/verify/t2_t1_throughput"]["value"], 4),
                         1.8)

    def test_a_round_without_calls_has_no_ratio(self):
        self.write("grpc-solver-p2b-c8.jsonl", [phase("verify", 950, 3200, 88),
                                                phase("verify", 0, 0, 0, ok=0, rnd=1),
                                                phase("verify", 850, 3200, 88, rnd=2)])
        figures, _, _ = report.service_report(self.raw)
        # rounds 0 and 2 only: 1900/1000 and 1750/900
        self.assertEqual(figures["service/solver/c8/verify/p2_t1_throughput"]["samples"],
                         [1.9, 1750 / 900])


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)
