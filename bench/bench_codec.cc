// Google Benchmark: what strowgerd pays per query around the decision, and
// what a config change costs the control path.
//
//   BM_Sip*      the SIP front-end per INVITE: parse, fill the query, build
//                the 302 (the entry points dp_server.c's handle_sip calls),
//                with and without the decision on the seed config
//   BM_Native*   the native front-end per RouteQuery: decode, encode the
//                RouteAnswer (handle_native's entry points), same split
//   BM_Build*    rt_snapshot_build alone from an in-memory rt_config (no
//                YAML) for the seed and the wl_gen.h workloads
//   BM_Publish*  publication under RCU (liburcu QSBR): through dp_server
//                itself with worker threads on an in-process backend, and
//                the bare liburcu calls it is made of
//
// Linked into strowger-microbench (BENCHMARK_MAIN is in bench_decide.cc).
// Run: STROWGER_SOURCE_ROOT=. build-bench/bench/strowger-microbench
//        --benchmark_filter='Sip|Native|Build|Publish'
// BM_BuildCarrier/1000000 (about 2 s a build, 230 MiB) is registered only
// when STROWGER_BENCH_1M=1.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h> // as dp_server.c includes it: no _LGPL_SOURCE

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// dp_server.h uses C11 atomic_bool (<stdatomic.h>). In C++ before C++23,
// libstdc++'s <stdatomic.h> gives g++ nothing (clang gets its own C header,
// which works): give the type its C++ spelling there. Only pointers to
// struct dp_server are used here, never its fields; the layout agrees
// anyway (one byte, lock-free).
#include <stdatomic.h>
#if !defined(__clang__) && __cplusplus <= 202002L
using atomic_bool = std::atomic<bool>;
#endif
static_assert(sizeof(atomic_bool) == sizeof(bool), "atomic_bool layout");

extern "C" {
#include "cfg_yaml.h"
#include "dp_io.h"
#include "dp_server.h"
#include "nq_codec.h"
#include "rt_decide.h"
#include "rt_matcher.h"
#include "sip_msg.h"
#include "wl_gen.h"
}

// The in-process I/O backend's queue (dp_io.h leaves it to each backend).
struct dp_io_queue {
	std::vector<std::string> msgs; // SIP INVITEs handed out in turn
	size_t next = 0;
	bool busy = true;              // false: nothing ever arrives
	sockaddr_in peer{};
	std::vector<uint8_t> reply;    // DP_BURST buffers of DP_PKT_MAX, like dp_io_sock
	std::atomic<uint64_t> rx{0};
};

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0)
{
	return std::chrono::duration<double>(Clock::now() - t0).count();
}

const char *source_root()
{
	const char *r = std::getenv("STROWGER_SOURCE_ROOT");
	return r ? r : ".";
}

// ---- the seed config, compiled once ------------------------------------------

struct Seed {
	rt_config *cfg = nullptr; // kept for the build and publish benchmarks
	rt_snapshot *snap = nullptr;
	rt_scratch *sc = nullptr;
	std::vector<uint8_t> gw, site; // health: all up
	rt_health_view hv{};

	~Seed()
	{
		rt_scratch_free(sc);
		rt_snapshot_free(snap);
		rt_config_free(cfg);
	}
};

std::unique_ptr<Seed> seed_cache;
bool seed_failed = false;

Seed *seed()
{
	if (seed_cache || seed_failed)
		return seed_cache.get();
	seed_failed = true;
	auto s = std::make_unique<Seed>();
	rt_diag d;
	rt_diag_init(&d);
	std::string path = std::string(source_root()) + "/examples/seed-failover.yaml";
	s->cfg = cfg_yaml_load_file(path.c_str(), &d);
	s->snap = s->cfg ? rt_snapshot_build(s->cfg, 1, &d) : nullptr;
	if (!s->snap) {
		rt_diag_print(&d, stderr);
		rt_diag_clear(&d);
		return nullptr;
	}
	s->sc = rt_scratch_new(s->snap);
	if (!s->sc)
		return nullptr;
	s->gw.assign(rt_snapshot_gateway_count(s->snap) + 1, RT_HEALTH_UP);
	s->site.assign(rt_snapshot_site_count(s->snap) + 1, RT_HEALTH_UP);
	s->hv.gateway = s->gw.data();
	s->hv.site = s->site.data();
	seed_failed = false;
	seed_cache = std::move(s);
	return seed_cache.get();
}

// ---- the query set: what an SBC asks about the seed --------------------------

// Deterministic pseudo-random choices (the same set in every run).
struct Lcg {
	uint64_t s;
	uint32_t next()
	{
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		return (uint32_t)(s >> 33);
	}
	uint32_t below(uint32_t n) { return next() % n; }
	std::string digits(int n)
	{
		std::string r;
		for (int i = 0; i < n; i++)
			r += (char)('0' + below(10));
		return r;
	}
	std::string hex(int n)
	{
		std::string r;
		for (int i = 0; i < n; i++)
			r += "0123456789abcdef"[below(16)];
		return r;
	}
};

struct Row {
	std::string called, calling, policy, call_id, sbc, branch, ua;
	bool sdp;
	std::vector<std::pair<std::string, unsigned>> tried; // failover re-query
};

// Like bench/dpdk/mkpcap.py: local and long-distance numbers around the
// seed's sites, international ones, a national format without '+'; the
// policy named outright for about half; Call-IDs in the styles SBCs use.
std::vector<Row> seed_rows(size_t n)
{
	static const char *redmond[] = {"425", "206", "253"};
	static const char *dallas[] = {"972", "214", "469"};
	static const char *other[] = {"212", "415", "312", "617", "303", "503"};
	static const char *intl[] = {"44", "33", "49", "81", "61", "34"};
	static const char *calling[] = {"+14255550123", "+14255550188", "+12065550111",
					"+19725550142", "+12145550100", "+442071234567"};
	static const char *uas[] = {"Sonus SBC 10.1", "AudioCodes-Sip-Gateway-Mediant 4000/v.7.40A",
				    "Oracle ESBC 9.0", "FreeSWITCH-mod_sofia/1.10.9",
				    "Ribbon SBC SWe 12.0"};
	Lcg r{42};
	std::vector<Row> rows;
	for (size_t i = 0; i < n; i++) {
		Row w;
		unsigned k = r.below(100);
		if (k < 30)
			w.called = std::string("+1") + redmond[r.below(3)] + r.digits(7);
		else if (k < 55)
			w.called = std::string("+1") + dallas[r.below(3)] + r.digits(7);
		else if (k < 75)
			w.called = std::string("+1") + other[r.below(6)] + r.digits(7);
		else if (k < 90) {
			std::string cc = intl[r.below(6)];
			w.called = "+" + cc + r.digits(11 - (int)cc.size());
		} else
			w.called = std::string("1") + redmond[r.below(3)] + r.digits(7);
		w.calling = calling[r.below(6)];
		k = r.below(100);
		if (k < 25)
			w.policy = "Default Calling Policy";
		else if (k < 50)
			w.policy = "Dallas Calling Policy";
		switch (r.below(3)) {
		case 0:
			w.call_id = r.hex(8) + "-" + r.hex(4) + "-" + r.hex(4) + "-" + r.hex(4) + "-" +
				    r.hex(12);
			break;
		case 1:
			w.call_id = r.hex(20) + "@10.9.0." + std::to_string(10 + r.below(8));
			break;
		default:
			w.call_id = "SD" + r.digits(6) + "-" + r.hex(16) + "-" + std::to_string(i) +
				    "@sbc" + std::to_string(1 + r.below(4)) + ".example.net";
		}
		w.sbc = "10.9.0." + std::to_string(10 + r.below(8));
		w.branch = r.hex(16) + std::to_string(10000 + i);
		w.ua = uas[r.below(5)];
		w.sdp = r.below(5) != 0; // 80 % carry an offer
		rows.push_back(w);
	}
	return rows;
}

// The INVITE as an SBC sends it (the header set of mkpcap.py), with an SDP
// offer for most; a failover re-query is the same call again, CSeq 2, a new
// branch and one X-Strowger-Tried line per attempt.
std::string sip_invite(const Row &w)
{
	std::string sdp;
	if (w.sdp) {
		sdp = "v=0\r\no=- 2890844526 2890844526 IN IP4 " + w.sbc +
		      "\r\ns=-\r\nc=IN IP4 10.20.7.61\r\nt=0 0\r\n"
		      "m=audio 20480 RTP/AVP 0 8 18 101\r\n"
		      "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:18 G729/8000\r\n"
		      "a=fmtp:18 annexb=no\r\na=rtpmap:101 telephone-event/8000\r\n"
		      "a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";
	}
	bool requery = !w.tried.empty();
	std::string m;
	m += "INVITE sip:" + w.called + "@strowger.example;user=phone SIP/2.0\r\n";
	m += "Via: SIP/2.0/UDP " + w.sbc + ":5060;branch=z9hG4bK" + w.branch + (requery ? "r" : "") +
	     ";rport\r\n";
	m += "Max-Forwards: 69\r\n";
	m += "From: <sip:" + w.calling + "@" + w.sbc + ";user=phone>;tag=" + w.branch.substr(0, 10) +
	     "\r\n";
	m += "To: <sip:" + w.called + "@strowger.example;user=phone>\r\n";
	m += "Call-ID: " + w.call_id + "\r\n";
	m += std::string("CSeq: ") + (requery ? "2" : "1") + " INVITE\r\n";
	m += "Contact: <sip:" + w.calling + "@" + w.sbc + ":5060;transport=udp>\r\n";
	m += "P-Asserted-Identity: <sip:" + w.calling + "@" + w.sbc + ";user=phone>\r\n";
	m += "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, REFER, NOTIFY\r\n";
	m += "Supported: 100rel, timer, replaces\r\n";
	m += "Session-Expires: 1800\r\n";
	m += "User-Agent: " + w.ua + "\r\n";
	if (!w.policy.empty())
		m += "X-Strowger-Policy: " + w.policy + "\r\n";
	for (auto &t : w.tried)
		m += "X-Strowger-Tried: " + t.first + ";code=" + std::to_string(t.second) + "\r\n";
	if (!sdp.empty())
		m += "Content-Type: application/sdp\r\n";
	m += "Content-Length: " + std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
	return m;
}

// Failover re-queries of the routed rows: the first destination failed with
// a failover code (every third row: the first two, 0 then 503).
std::vector<Row> requery_rows(const Seed *s, std::vector<Row> rows)
{
	rt_answer ans;
	size_t k = 0;
	for (auto &w : rows) {
		rt_query q{};
		q.called = {w.called.data(), w.called.size()};
		q.calling = {w.calling.data(), w.calling.size()};
		q.policy = {w.policy.data(), w.policy.size()};
		q.call_id = {w.call_id.data(), w.call_id.size()};
		q.max_destinations = rt_snapshot_max_contacts(s->snap);
		rt_decide(s->snap, &s->hv, &q, s->sc, &ans, nullptr);
		if (ans.status != RT_ROUTED || !ans.dest[0].gateway)
			continue;
		if (k++ % 3 == 2 && ans.n_dest > 1 && ans.dest[1].gateway) {
			w.tried.emplace_back(ans.dest[0].gateway, 0);
			w.tried.emplace_back(ans.dest[1].gateway, 503);
		} else {
			w.tried.emplace_back(ans.dest[0].gateway, 503);
		}
	}
	return rows;
}

// ---- SIP ------------------------------------------------------------------------

// What a strowgerd worker holds for its SIP front-end.
struct SipWorker {
	sip_msg m;
	sip_numbuf nb;
	rt_query q;
	rt_answer ans;
	char out[DP_PKT_MAX];
};

struct SipSet {
	std::vector<std::string> msgs;
	std::vector<sockaddr_in> peers;    // datagram source: the SBC of its Via
	std::vector<rt_answer> answers;    // the decision for each, made once
	double contacts = 0, resp_bytes = 0; // means over the set
	size_t req_bytes = 0;              // total over the set
};

sockaddr_in v4(const std::string &ip, uint16_t port)
{
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
	return a;
}

// handle_sip in dataplane/server/dp_server.c, less its counters: parse, and
// for an INVITE that needs a decision fill the query, decide (or take the
// given answer), build the response. Returns the response length.
int sip_one(SipWorker &w, const Seed *s, const std::string &pkt, const sockaddr_in &peer,
	    const rt_answer *fixed)
{
	int rc = sip_parse((const uint8_t *)pkt.data(), pkt.size(), &w.m);
	if (rc < 0 && rc != SIP_EBAD)
		return rc;
	sip_respond_opts o{};
	o.draining = false;
	o.max_contacts = rt_snapshot_max_contacts(s->snap);
	o.retry_after = rt_snapshot_retry_after(s->snap);
	o.server = "strowger";
	const rt_answer *a = nullptr;
	if (rc == 0 && w.m.method == SIP_METHOD_INVITE && sip_respond_needs_answer(&w.m)) {
		if (sip_query_fill(&w.m, &w.q, &w.nb, o.max_contacts) == 0) {
			if (fixed) {
				a = fixed;
			} else {
				rt_decide(s->snap, &s->hv, &w.q, s->sc, &w.ans, nullptr);
				a = &w.ans;
			}
		}
	}
	return sip_respond(&w.m, a, &o, (const sockaddr *)&peer, w.out, sizeof(w.out));
}

SipWorker *sip_worker()
{
	static std::unique_ptr<SipWorker> w(new SipWorker());
	return w.get();
}

// 32 INVITEs (one burst), or their failover re-queries; each one's answer
// decided once, so the codec-only benchmarks build the very 302 the
// decision would give. Empty on error (a message not answered 302).
std::unique_ptr<SipSet> sip_set(const Seed *s, bool requery)
{
	auto set = std::make_unique<SipSet>();
	std::vector<Row> rows = seed_rows(DP_BURST);
	if (requery)
		rows = requery_rows(s, rows);
	SipWorker *w = sip_worker();
	for (auto &r : rows) {
		if (requery && r.tried.empty())
			continue;
		set->msgs.push_back(sip_invite(r));
		set->peers.push_back(v4(r.sbc, 5060));
		int n = sip_one(*w, s, set->msgs.back(), set->peers.back(), nullptr);
		if (n <= 0 || std::strncmp(w->out, "SIP/2.0 302 ", 12) != 0) {
			std::fprintf(stderr, "bench_codec: %s answered %.*s\n", r.called.c_str(),
				     n > 0 ? 12 : 0, w->out);
			return nullptr;
		}
		set->answers.push_back(w->ans);
		set->contacts += std::min(w->ans.n_dest, rt_snapshot_max_contacts(s->snap));
		set->resp_bytes += n;
		set->req_bytes += set->msgs.back().size();
	}
	size_t k = set->msgs.size();
	if (!k)
		return nullptr;
	set->contacts /= (double)k;
	set->resp_bytes /= (double)k;
	return set;
}

void sip_bench(benchmark::State &state, bool requery, bool decide)
{
	Seed *s = seed();
	if (!s) {
		state.SkipWithError("cannot load examples/seed-failover.yaml (set STROWGER_SOURCE_ROOT)");
		return;
	}
	auto set = sip_set(s, requery);
	if (!set) {
		state.SkipWithError("a generated INVITE was not answered 302");
		return;
	}
	SipWorker *w = sip_worker();
	size_t n = set->msgs.size(), i = 0, bytes = 0;
	for (auto _ : state) {
		size_t k = i++ % n;
		int len = sip_one(*w, s, set->msgs[k], set->peers[k],
				  decide ? nullptr : &set->answers[k]);
		benchmark::DoNotOptimize(len);
		bytes += set->msgs[k].size();
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed((int64_t)bytes); // request bytes parsed
	state.counters["req_B"] = (double)set->req_bytes / (double)n;
	state.counters["resp_B"] = set->resp_bytes;
	state.counters["contacts"] = set->contacts;
}

// sip_parse alone over the 32 INVITEs (the share of parsing in BM_SipInvite).
void BM_SipParse(benchmark::State &state)
{
	std::vector<Row> rows = seed_rows(DP_BURST);
	std::vector<std::string> msgs;
	size_t total = 0;
	for (auto &r : rows) {
		msgs.push_back(sip_invite(r));
		total += msgs.back().size();
	}
	SipWorker *w = sip_worker();
	size_t i = 0, bytes = 0;
	for (auto _ : state) {
		const std::string &m = msgs[i++ % msgs.size()];
		int rc = sip_parse((const uint8_t *)m.data(), m.size(), &w->m);
		benchmark::DoNotOptimize(rc);
		bytes += m.size();
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed((int64_t)bytes);
	state.counters["req_B"] = (double)total / (double)msgs.size();
}
BENCHMARK(BM_SipParse);

// The SIP front-end's per-INVITE cost without the decision: sip_parse,
// sip_respond_needs_answer, sip_query_fill, sip_respond building the 302
// (3 Contacts on the seed, plus the echoed Vias, From, To with a tag,
// Call-ID, CSeq) from the answer the decision gives for that INVITE.
// INVITEs as an SBC sends them (~1 KB with SDP, mkpcap.py's header set).
void BM_SipInvite(benchmark::State &state)
{
	sip_bench(state, false, false);
}
BENCHMARK(BM_SipInvite);

// The same plus rt_decide on the seed config: the whole of handle_sip's
// work but its counters (no I/O).
void BM_SipInviteDecide(benchmark::State &state)
{
	sip_bench(state, false, true);
}
BENCHMARK(BM_SipInviteDecide);

// A failover re-query of each routed INVITE (CSeq 2, one or two
// X-Strowger-Tried lines): codec only, the 302 carries what is left.
void BM_SipFailover(benchmark::State &state)
{
	sip_bench(state, true, false);
}
BENCHMARK(BM_SipFailover);

// The same with the decision (skips the tried gateways).
void BM_SipFailoverDecide(benchmark::State &state)
{
	sip_bench(state, true, true);
}
BENCHMARK(BM_SipFailoverDecide);

// ---- native ------------------------------------------------------------------------

struct NativeWorker {
	nq_arena arena;
	rt_query q;
	rt_answer ans;
	uint8_t out[DP_PKT_MAX];
};

// handle_native in dp_server.c, less its counters: reset the arena, decode
// the RouteQuery, decide (or take the given answer), encode the RouteAnswer.
long native_one(NativeWorker &w, const Seed *s, const std::string &pkt, const rt_answer *fixed)
{
	uint64_t id = 0;
	bool explain = false;
	nq_arena_reset(&w.arena);
	int rc = nq_decode_query((const uint8_t *)pkt.data(), pkt.size(), &w.arena, &w.q, &id,
				 &explain);
	if (rc < 0)
		return rc;
	if (!fixed) {
		rt_decide(s->snap, &s->hv, &w.q, s->sc, &w.ans, nullptr);
		fixed = &w.ans;
	}
	return nq_encode_answer(id, fixed, nullptr, w.out, sizeof(w.out));
}

void native_bench(benchmark::State &state, bool decide)
{
	Seed *s = seed();
	if (!s) {
		state.SkipWithError("cannot load examples/seed-failover.yaml (set STROWGER_SOURCE_ROOT)");
		return;
	}
	static std::unique_ptr<NativeWorker> w(new NativeWorker());
	// The same calls as the SIP set, as strowgerctl or an SBC adapter sends
	// them: max_destinations 4, every fifth a failover re-query.
	std::vector<Row> rows = seed_rows(DP_BURST), re = requery_rows(s, rows);
	std::vector<std::string> pkts;
	std::vector<rt_answer> answers;
	double dests = 0, resp = 0;
	size_t total = 0;
	for (size_t i = 0; i < rows.size(); i++) {
		const Row &r = i % 5 == 4 && !re[i].tried.empty() ? re[i] : rows[i];
		rt_query q{};
		q.called = {r.called.data(), r.called.size()};
		q.calling = {r.calling.data(), r.calling.size()};
		q.policy = {r.policy.data(), r.policy.size()};
		q.call_id = {r.call_id.data(), r.call_id.size()};
		q.max_destinations = RT_DEFAULT_MAX_CONTACTS;
		for (auto &t : r.tried) {
			q.tried[q.n_tried].gateway = {t.first.data(), t.first.size()};
			q.tried[q.n_tried++].code = (uint16_t)t.second;
		}
		uint8_t buf[2048];
		long n = nq_encode_query(1000 + i, &q, false, buf, sizeof(buf));
		if (n <= 0) {
			state.SkipWithError("nq_encode_query failed");
			return;
		}
		pkts.emplace_back((const char *)buf, (size_t)n);
		total += (size_t)n;
		long m = native_one(*w, s, pkts.back(), nullptr);
		if (m <= 0 || w->ans.status != RT_ROUTED) {
			state.SkipWithError("a generated query was not routed");
			return;
		}
		answers.push_back(w->ans);
		dests += w->ans.n_dest;
		resp += (double)m;
	}
	size_t i = 0, bytes = 0;
	for (auto _ : state) {
		size_t k = i++ % pkts.size();
		long n = native_one(*w, s, pkts[k], decide ? nullptr : &answers[k]);
		benchmark::DoNotOptimize(n);
		bytes += pkts[k].size();
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed((int64_t)bytes); // RouteQuery bytes decoded
	state.counters["req_B"] = (double)total / (double)pkts.size();
	state.counters["resp_B"] = resp / (double)pkts.size();
	state.counters["dests"] = dests / (double)pkts.size();
}

// The native front-end's per-query cost without the decision:
// nq_arena_reset, nq_decode_query (RouteQuery with called, calling,
// sometimes a policy, Call-ID, max_destinations, a fifth with tried
// entries), nq_encode_answer of that query's RouteAnswer (1-3
// destinations on the seed: gateway, trunk, route, usage, address, port,
// transport, translated numbers).
void BM_NativeQuery(benchmark::State &state)
{
	native_bench(state, false);
}
BENCHMARK(BM_NativeQuery);

// The same plus rt_decide on the seed: handle_native's work but counters.
void BM_NativeQueryDecide(benchmark::State &state)
{
	native_bench(state, true);
}
BENCHMARK(BM_NativeQueryDecide);

// ---- snapshot build ------------------------------------------------------------------

// The last generated config (generation is not timed, and not repeated for
// the repetitions of one benchmark).
struct CfgCache {
	std::string key;
	rt_config *cfg = nullptr;
	~CfgCache() { rt_config_free(cfg); }
} cfg_cache;

const rt_config *workload_cfg(const std::string &key, rt_config *(*gen)(size_t), size_t n)
{
	if (cfg_cache.key != key || !cfg_cache.cfg) {
		rt_config_free(cfg_cache.cfg);
		cfg_cache.cfg = gen(n);
		cfg_cache.key = key;
	}
	return cfg_cache.cfg;
}

// rt_snapshot_build timed alone: validation, classification into the
// tries, Hyperscan and PCRE2 compiles, indexes. Freeing the snapshot is
// not timed. items = routes compiled; snapshot_MiB = rt_snapshot_memory,
// matcher_MiB = the route matcher's share of it.
void build_bench(benchmark::State &state, const rt_config *cfg)
{
	if (!cfg) {
		state.SkipWithError("cannot generate or load the config");
		return;
	}
	double mib = 0, matcher_mib = 0, trie_pct = 0;
	size_t routes = 0;
	for (auto _ : state) {
		rt_diag d;
		rt_diag_init(&d);
		rt_snapshot *s = rt_snapshot_build(cfg, 1, &d);
		state.PauseTiming();
		if (!s) {
			rt_diag_print(&d, stderr);
			rt_diag_clear(&d);
			state.SkipWithError("the config did not compile");
			state.ResumeTiming();
			break;
		}
		const rt_matcher *m = rt_snapshot_route_matcher(s);
		mib = (double)rt_snapshot_memory(s) / (1024.0 * 1024.0);
		matcher_mib = (double)rt_matcher_memory(m) / (1024.0 * 1024.0);
		trie_pct = 100.0 * m->n_trie / (double)(m->n ? m->n : 1);
		routes = rt_snapshot_route_count(s);
		rt_snapshot_free(s);
		rt_diag_clear(&d);
		state.ResumeTiming();
	}
	state.SetItemsProcessed((int64_t)(state.iterations() * routes));
	state.counters["routes"] = (double)routes;
	state.counters["snapshot_MiB"] = mib;
	state.counters["matcher_MiB"] = matcher_mib;
	state.counters["trie_pct"] = trie_pct;
}

rt_config *gen_carrier(size_t n)
{
	return wl_carrier(n, 42);
}

rt_config *gen_enterprise(size_t)
{
	return wl_enterprise(42);
}

// examples/seed-failover.yaml (parsed once, not timed).
void BM_BuildSeed(benchmark::State &state)
{
	Seed *s = seed();
	build_bench(state, s ? s->cfg : nullptr);
}
BENCHMARK(BM_BuildSeed)->Unit(benchmark::kMicrosecond);

// carrier-N of wl_gen.h (N prefix routes, 200 gateways, 20 usages).
void BM_BuildCarrier(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	build_bench(state, workload_cfg("carrier-" + std::to_string(n), gen_carrier, n));
}
BENCHMARK(BM_BuildCarrier)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// enterprise of wl_gen.h (2,000 Teams-style routes, 200 policies, dial
// plans, assignments, trunk translations).
void BM_BuildEnterprise(benchmark::State &state)
{
	build_bench(state, workload_cfg("enterprise", gen_enterprise, 0));
}
BENCHMARK(BM_BuildEnterprise)->Unit(benchmark::kMillisecond);

// carrier-1m: one build per repetition, only when asked for.
const bool build_1m_registered = [] {
	const char *e = std::getenv("STROWGER_BENCH_1M");
	if (e && std::strcmp(e, "1") == 0)
		benchmark::RegisterBenchmark("BM_BuildCarrier/1000000",
					     [](benchmark::State &st) {
						     build_bench(st, workload_cfg("carrier-1000000",
										  gen_carrier, 1000000));
					     })
			->Iterations(1)
			->Unit(benchmark::kMillisecond);
	return true;
}();

// ---- RCU publication -------------------------------------------------------------------

// The in-process backend: a busy queue hands its worker a full burst of
// SIP INVITEs on every poll (a saturated strowgerd); an idle one never has
// anything, so its worker goes offline in idle_wait as on a quiet socket.
unsigned fake_rx(dp_io_queue *q, dp_pkt *pkts, unsigned max)
{
	if (!q->busy)
		return 0;
	for (unsigned i = 0; i < max; i++) {
		const std::string &m = q->msgs[q->next++ % q->msgs.size()];
		pkts[i].data = (const uint8_t *)m.data();
		pkts[i].len = (uint32_t)m.size();
		pkts[i].svc = DP_SVC_SIP;
		pkts[i].peer = (const sockaddr *)&q->peer;
		pkts[i].reply = q->reply.data() + (size_t)i * DP_PKT_MAX;
		pkts[i].reply_cap = DP_PKT_MAX;
		pkts[i].reply_len = 0;
	}
	q->rx.store(q->rx.load(std::memory_order_relaxed) + max, std::memory_order_relaxed);
	return max;
}

void fake_tx(dp_io_queue *, dp_pkt *, unsigned) {}

void fake_idle(dp_io_queue *, int timeout_ms)
{
	// Shorter than asked (allowed: "up to"), so stopping joins quickly.
	usleep(1000 * (unsigned)std::min(timeout_ms, 1));
}

void fake_free(dp_io_queue *q)
{
	delete q;
}

const dp_io_ops fake_ops = {"bench", fake_rx, fake_tx, fake_idle, fake_free};

// A running dp_server with `readers` workers on the in-process backend,
// serving the seed (published before the workers start).
struct Server {
	dp_server *srv = nullptr;
	std::vector<dp_io_queue *> queues;
	Clock::time_point t0;

	~Server() { dp_server_free(srv); }

	bool start(const Seed *s, unsigned readers, bool busy)
	{
		char err[256];
		srv = dp_server_new(readers, &fake_ops, err, sizeof(err));
		if (!srv)
			return false;
		std::vector<std::string> msgs;
		for (auto &r : seed_rows(DP_BURST))
			msgs.push_back(sip_invite(r));
		for (unsigned i = 0; i < readers; i++) {
			auto *q = new dp_io_queue();
			q->msgs = msgs;
			q->busy = busy;
			q->peer = v4("10.9.0.10", 5060);
			q->reply.resize((size_t)DP_BURST * DP_PKT_MAX);
			dp_server_set_queue(srv, i, q);
			queues.push_back(q);
		}
		rt_diag d;
		rt_diag_init(&d);
		rt_snapshot *snap = rt_snapshot_build(s->cfg, 1, &d);
		rt_diag_clear(&d);
		if (!snap || dp_server_publish(srv, snap, nullptr, nullptr))
			return false;
		if (dp_server_start(srv, err, sizeof(err)))
			return false;
		// Every worker in its loop before timing starts.
		for (auto *q : queues)
			while (busy && q->rx.load(std::memory_order_relaxed) == 0)
				std::this_thread::yield();
		t0 = Clock::now();
		return true;
	}

	// Queries the workers answered per second while the benchmark ran, the
	// mean burst (DP_BURST queries between two quiescent states) it implies,
	// and a check that every query was answered.
	void report(benchmark::State &state)
	{
		double s = since(t0);
		dp_server_stop(srv);
		dp_counters c;
		dp_server_counters(srv, &c);
		double qps = (double)c.tx / (s > 0 ? s : 1);
		state.counters["worker_kqps"] = qps / 1000.0;
		state.counters["burst_us"] =
			qps > 0 ? 1e6 * DP_BURST * (double)queues.size() / qps : 0.0;
		if (c.dropped || c.malformed)
			state.SkipWithError("workers dropped queries");
	}
};

// What a health change costs the control path (dp_server_set_health): a
// new dp_state (health arrays copied), rcu_xchg_pointer, synchronize_rcu
// with `readers` workers in strowgerd's worker loop (QSBR, one quiescent
// state per burst of 32; busy: every poll returns a full burst of seed
// INVITEs, each parsed, decided and answered; idle: nothing arrives, the
// workers sit offline in idle_wait), then freeing the old state. Wall time;
// on 2 vCPUs two busy workers leave the publisher no CPU of its own, so
// the grace period includes waiting to be scheduled, as it would in
// strowgerd.
void BM_PublishHealth(benchmark::State &state)
{
	Seed *s = seed();
	Server sv;
	if (!s || !sv.start(s, (unsigned)state.range(0), state.range(1) != 0)) {
		state.SkipWithError("cannot start the server");
		return;
	}
	std::vector<uint8_t> gw[2], site[2];
	for (int k = 0; k < 2; k++) {
		gw[k].assign(rt_snapshot_gateway_count(s->snap) + 1,
			     k ? RT_HEALTH_UP : RT_HEALTH_DEGRADED);
		site[k].assign(rt_snapshot_site_count(s->snap) + 1, RT_HEALTH_UP);
	}
	size_t i = 0;
	for (auto _ : state) {
		int rc = dp_server_set_health(sv.srv, gw[i & 1].data(), site[i & 1].data());
		i++;
		if (rc) {
			state.SkipWithError("dp_server_set_health failed");
			break;
		}
	}
	state.SetItemsProcessed(state.iterations());
	sv.report(state);
}
BENCHMARK(BM_PublishHealth)
	->ArgNames({"readers", "busy"})
	->Args({1, 1})
	->Args({2, 1})
	->Args({1, 0})
	->Args({2, 0})
	->UseRealTime()
	->Unit(benchmark::kMicrosecond);

// What a config load costs after compiling (dp_server_publish, the call
// strowgerd's loader makes): per-worker rt_scratch_new for the new
// snapshot, per-route and per-gateway counter rows, the swap, the grace
// period with `readers` busy workers (as above), folding the old
// generation's counters by name and freeing it (seed snapshot). Each
// iteration publishes a fresh seed snapshot built beforehand (not timed).
void BM_PublishSnapshot(benchmark::State &state)
{
	Seed *s = seed();
	Server sv;
	if (!s || !sv.start(s, (unsigned)state.range(0), true)) {
		state.SkipWithError("cannot start the server");
		return;
	}
	uint64_t gen = 2;
	for (auto _ : state) {
		rt_diag d;
		rt_diag_init(&d);
		rt_snapshot *snap = rt_snapshot_build(s->cfg, gen++, &d);
		rt_diag_clear(&d);
		if (!snap) {
			state.SkipWithError("cannot build the seed");
			break;
		}
		auto t0 = Clock::now();
		int rc = dp_server_publish(sv.srv, snap, nullptr, nullptr);
		state.SetIterationTime(since(t0));
		if (rc) {
			state.SkipWithError("dp_server_publish failed");
			break;
		}
	}
	state.SetItemsProcessed(state.iterations());
	sv.report(state);
}
BENCHMARK(BM_PublishSnapshot)
	->ArgName("readers")
	->Arg(1)
	->Arg(2)
	->UseManualTime()
	->Unit(benchmark::kMicrosecond);

// The bare liburcu calls the two above are made of, replicated here (not
// dp_server's code): readers registered with rcu_register_thread loop on
// rcu_dereference + a read of the object + rcu_quiescent_state (a worker
// whose bursts take no time: the mechanism's own cost); the publisher
// (this thread, not registered, like strowgerd's control thread) does
// rcu_xchg_pointer of a new object, synchronize_rcu, frees the old one.
struct RcuObj {
	uint64_t gen;
	uint64_t pad[7];
};

RcuObj *rcu_obj;

struct Readers {
	std::atomic<bool> stop{false};
	std::atomic<unsigned> online{0};
	std::vector<std::thread> threads;

	void start(unsigned n)
	{
		for (unsigned i = 0; i < n; i++)
			threads.emplace_back([this] {
				rcu_register_thread();
				online.fetch_add(1);
				uint64_t sink = 0;
				while (!stop.load(std::memory_order_relaxed)) {
					RcuObj *p = rcu_dereference(rcu_obj);
					sink += p->gen;
					rcu_quiescent_state();
				}
				benchmark::DoNotOptimize(sink);
				rcu_unregister_thread();
			});
		while (online.load() < n)
			std::this_thread::yield();
	}

	~Readers()
	{
		stop.store(true);
		for (auto &t : threads)
			t.join();
	}
};

void BM_PublishRcu(benchmark::State &state)
{
	rcu_obj = new RcuObj{1, {}};
	uint64_t gen = 2;
	{
		Readers r;
		r.start((unsigned)state.range(0));
		for (auto _ : state) {
			RcuObj *next = new RcuObj{gen++, {}};
			RcuObj *old = rcu_xchg_pointer(&rcu_obj, next);
			synchronize_rcu();
			delete old;
		}
	}
	delete rcu_obj;
	rcu_obj = nullptr;
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PublishRcu)->ArgName("readers")->Arg(1)->Arg(2)->UseRealTime()->Unit(
	benchmark::kMicrosecond);

// The reader side, per burst: rcu_dereference of the state and
// rcu_quiescent_state (what a worker adds to each burst), on this thread
// registered as a QSBR reader. publisher:1 runs a thread publishing in a
// loop meanwhile, so quiescent states find a grace period waiting and
// wake its waiter.
void BM_PublishReaderQuiescentState(benchmark::State &state)
{
	rcu_obj = new RcuObj{1, {}};
	std::atomic<bool> stop{false};
	std::thread pub;
	if (state.range(0))
		pub = std::thread([&stop] {
			uint64_t gen = 2;
			while (!stop.load(std::memory_order_relaxed)) {
				RcuObj *next = new RcuObj{gen++, {}};
			RcuObj *old = rcu_xchg_pointer(&rcu_obj, next);
				synchronize_rcu();
				delete old;
			}
		});
	rcu_register_thread();
	uint64_t sink = 0;
	for (auto _ : state) {
		RcuObj *p = rcu_dereference(rcu_obj);
		sink += p->gen;
		rcu_quiescent_state();
	}
	benchmark::DoNotOptimize(sink);
	// Offline while the publisher finishes its last grace period.
	rcu_unregister_thread();
	stop.store(true);
	if (pub.joinable())
		pub.join();
	delete rcu_obj;
	rcu_obj = nullptr;
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PublishReaderQuiescentState)->ArgName("publisher")->Arg(0)->Arg(1);

} // namespace
