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
#include "rt_matcher.h"
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

// Carrier decisions. hs_every > 0 sends every hs_every-th route pattern to
// Hyperscan (same language, prefixed with a '(?i)' the classifier does not
// lower), to price the Hyperscan scan the trie walk then also needs.
void decide_carrier(benchmark::State &state, size_t hs_every)
{
	size_t n_routes = (size_t)state.range(0);
	rt_config *cfg = wl_carrier(n_routes, 42);
	for (size_t i = 0; hs_every && i < n_routes; i += hs_every) {
		std::string p = cfg->routes[i].pattern;
		cfg->routes[i].pattern = rt_arena_strdup(cfg->arena, ("(?i)" + p).c_str());
	}
	Loaded l = compile(cfg);
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
void BM_DecideCarrier(benchmark::State &state)
{
	decide_carrier(state, 0);
}
BENCHMARK(BM_DecideCarrier)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kNanosecond);

// The same with 1% of the patterns left to Hyperscan.
void BM_DecideCarrierMixed(benchmark::State &state)
{
	decide_carrier(state, 100);
}
BENCHMARK(BM_DecideCarrierMixed)->Arg(10000)->Unit(benchmark::kNanosecond);

// The bare matcher on the carrier patterns (all lowered into the trie): the
// ceiling for the route match step of a decision.
void BM_TrieWalk(benchmark::State &state)
{
	size_t n_routes = (size_t)state.range(0);
	rt_config *cfg = wl_carrier(n_routes, 42);
	std::vector<const char *> pats(n_routes), names(n_routes);
	std::vector<rt_src> srcs(n_routes);
	for (size_t i = 0; i < n_routes; i++)
		pats[i] = names[i] = cfg->routes[i].pattern;
	rt_diag d;
	rt_diag_init(&d);
	rt_matcher m;
	auto t0 = std::chrono::steady_clock::now();
	if (rt_matcher_build(&m, pats.data(), (uint32_t)n_routes, srcs.data(), "route",
			     names.data(), &d)) {
		rt_diag_print(&d, stderr);
		std::abort();
	}
	double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	hs_scratch_t *hs = nullptr;
	rt_matcher_ready(&m, &hs);
	wl_numbers nums;
	wl_carrier_numbers(n_routes, 42, 65536, &nums);
	std::vector<size_t> lens(nums.n);
	for (size_t i = 0; i < nums.n; i++)
		lens[i] = std::strlen(nums.num[i]);
	auto count = [](unsigned, void *p) -> int {
		++*static_cast<size_t *>(p);
		return 0;
	};
	size_t i = 0, hits = 0;
	for (auto _ : state) {
		size_t k = i++ & 65535;
		rt_matcher_scan(&m, nums.num[k], lens[k], hs, count, &hits);
	}
	benchmark::DoNotOptimize(hits);
	state.SetItemsProcessed(state.iterations());
	state.counters["build_s"] = build_s;
	state.counters["trie_pct"] = 100.0 * m.n_trie / (double)(m.n ? m.n : 1);
	state.counters["matcher_MiB"] = (double)rt_matcher_memory(&m) / (1024.0 * 1024.0);
	wl_numbers_free(&nums);
	if (hs)
		hs_free_scratch(hs);
	rt_matcher_free(&m);
	rt_config_free(cfg);
}
BENCHMARK(BM_TrieWalk)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kNanosecond);

} // namespace

BENCHMARK_MAIN();
