// Google Benchmark: the routing decision on the seed example and on
// generated carrier tables (one core, one scratch, no health changes).
// Run: ./scripts/bench  (or build-bench/bench/strowger-microbench)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "cfg_yaml.h"
#include "rt_decide.h"
#include "wl_gen.h"
}

namespace {

struct Loaded {
	rt_snapshot *snap = nullptr;
	rt_scratch *sc = nullptr;
	std::vector<uint8_t> gw;
	double compile_s = 0;
};

Loaded compile(rt_config *cfg)
{
	Loaded l;
	rt_diag d;
	rt_diag_init(&d);
	auto t0 = std::chrono::steady_clock::now();
	l.snap = rt_snapshot_build(cfg, 1, &d);
	l.compile_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	if (!l.snap) {
		rt_diag_print(&d, stderr);
		std::abort();
	}
	rt_config_free(cfg);
	l.sc = rt_scratch_new(l.snap);
	l.gw.assign(rt_snapshot_gateway_count(l.snap) + 1, RT_HEALTH_UP);
	return l;
}

const char *source_root()
{
	const char *r = std::getenv("STROWGER_SOURCE_ROOT");
	return r ? r : ".";
}

void BM_DecideSeed(benchmark::State &state)
{
	rt_diag d;
	rt_diag_init(&d);
	std::string path = std::string(source_root()) + "/examples/seed-failover.yaml";
	rt_config *cfg = cfg_yaml_load_file(path.c_str(), &d);
	if (!cfg) {
		rt_diag_print(&d, stderr);
		state.SkipWithError("cannot load examples/seed-failover.yaml (set STROWGER_SOURCE_ROOT)");
		return;
	}
	Loaded l = compile(cfg);
	const char *numbers[] = {"+19725550100", "+14255550100", "+442071234567", "+12065550123"};
	const char *policies[] = {"Dallas Calling Policy", "", "Default Calling Policy", ""};
	rt_health_view hv{l.gw.data(), nullptr};
	rt_answer ans;
	rt_query q{};
	size_t i = 0;
	for (auto _ : state) {
		q.called = rt_str_c(numbers[i & 3]);
		q.policy = rt_str_c(policies[i & 3]);
		q.seed = i++;
		rt_decide(l.snap, &hv, &q, l.sc, &ans, nullptr);
		benchmark::DoNotOptimize(ans.n_dest);
	}
	state.SetItemsProcessed(state.iterations());
	rt_scratch_free(l.sc);
	rt_snapshot_free(l.snap);
}
BENCHMARK(BM_DecideSeed);

void BM_DecideCarrier(benchmark::State &state)
{
	size_t n_routes = (size_t)state.range(0);
	Loaded l = compile(wl_carrier(n_routes, 42));
	wl_numbers nums;
	wl_carrier_numbers(n_routes, 42, 65536, &nums);
	rt_health_view hv{l.gw.data(), nullptr};
	rt_answer ans;
	rt_query q{};
	size_t i = 0, routed = 0;
	for (auto _ : state) {
		const char *n = nums.num[i & 65535];
		q.called.p = n;
		q.called.len = std::strlen(n);
		q.seed = i++;
		rt_decide(l.snap, &hv, &q, l.sc, &ans, nullptr);
		routed += ans.status == RT_ROUTED;
		benchmark::DoNotOptimize(ans.n_dest);
	}
	state.SetItemsProcessed(state.iterations());
	state.counters["routed_pct"] = 100.0 * (double)routed / (double)(i ? i : 1);
	state.counters["compile_s"] = l.compile_s;
	state.counters["snapshot_MiB"] = (double)rt_snapshot_memory(l.snap) / (1024.0 * 1024.0);
	wl_numbers_free(&nums);
	rt_scratch_free(l.sc);
	rt_snapshot_free(l.snap);
}
BENCHMARK(BM_DecideCarrier)->Arg(1000)->Arg(10000)->Unit(benchmark::kNanosecond);

} // namespace

BENCHMARK_MAIN();
