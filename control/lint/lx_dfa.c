/*
 * lx_dfa: see lx_dfa.h. Subset construction with search semantics, Moore
 * minimisation, and breadth-first exploration of products of DFAs.
 */
#include "lx_dfa.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a set of fixed-size keys (uint32 words), ids in insertion order ---------------- */

struct keyset {
	size_t kw;      /* words per key */
	uint32_t *keys; /* n * kw */
	uint32_t n, cap;
	uint32_t *tab; /* ids + 1; 0 is empty */
	size_t tabcap; /* power of two */
};

static void ks_init(struct keyset *s, size_t kw)
{
	*s = (struct keyset){.kw = kw ? kw : 1};
}

static void ks_free(struct keyset *s)
{
	free(s->keys);
	free(s->tab);
	*s = (struct keyset){0};
}

static uint64_t ks_hash(const uint32_t *k, size_t kw)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ kw;
	for (size_t i = 0; i < kw; i++) {
		h ^= k[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static int ks_grow_tab(struct keyset *s)
{
	size_t nc = s->tabcap ? s->tabcap * 2 : 256;
	uint32_t *nt = calloc(nc, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (uint32_t id = 0; id < s->n; id++) {
		size_t h = (size_t)ks_hash(&s->keys[(size_t)id * s->kw], s->kw) & (nc - 1);
		while (nt[h])
			h = (h + 1) & (nc - 1);
		nt[h] = id + 1;
	}
	free(s->tab);
	s->tab = nt;
	s->tabcap = nc;
	return 0;
}

/* The key's id, adding it when new (*added set). -ENOMEM on failure. */
static long ks_put(struct keyset *s, const uint32_t *key, bool *added)
{
	*added = false;
	if ((size_t)(s->n + 1) * 2 > s->tabcap && ks_grow_tab(s))
		return -ENOMEM;
	size_t h = (size_t)ks_hash(key, s->kw) & (s->tabcap - 1);
	while (s->tab[h]) {
		uint32_t id = s->tab[h] - 1;
		if (!memcmp(&s->keys[(size_t)id * s->kw], key, s->kw * sizeof(uint32_t)))
			return id;
		h = (h + 1) & (s->tabcap - 1);
	}
	if (s->n == s->cap) {
		uint32_t nc = s->cap ? s->cap * 2 : 64;
		uint32_t *nk = realloc(s->keys, (size_t)nc * s->kw * sizeof(uint32_t));
		if (!nk)
			return -ENOMEM;
		s->keys = nk;
		s->cap = nc;
	}
	memcpy(&s->keys[(size_t)s->n * s->kw], key, s->kw * sizeof(uint32_t));
	s->tab[h] = s->n + 1;
	*added = true;
	return s->n++;
}

/* ---- subset construction ------------------------------------------------------------ */

struct subset {
	const struct lx_nfa *nfa;
	size_t words;     /* uint64 words per NFA state set */
	uint64_t *full;   /* closure result */
	uint64_t *tmp;    /* acceptance-at-end closure */
	int32_t *stack;
	uint64_t *symmask; /* SYM nodes */
};

static void bit_set(uint64_t *b, uint32_t i)
{
	b[i / 64] |= 1ull << (i % 64);
}

static bool bit_has(const uint64_t *b, uint32_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

/* Add to set everything reachable from the seeds without consuming a symbol. */
static void closure(struct subset *ss, uint64_t *set, const int32_t *seeds, uint32_t n_seeds,
		    bool bol, bool eol)
{
	const struct lx_nfa *nfa = ss->nfa;
	uint32_t sp = 0;
	for (uint32_t i = 0; i < n_seeds; i++)
		if (!bit_has(set, (uint32_t)seeds[i])) {
			bit_set(set, (uint32_t)seeds[i]);
			ss->stack[sp++] = seeds[i];
		}
	while (sp) {
		const struct lx_nstate *s = &nfa->st[ss->stack[--sp]];
		int32_t next[2] = {-1, -1};
		if (s->kind == LX_N_EPS) {
			next[0] = s->out;
			next[1] = s->out2;
		} else if ((s->kind == LX_N_BOL && bol) || (s->kind == LX_N_EOL && eol)) {
			next[0] = s->out;
		}
		for (int i = 0; i < 2; i++)
			if (next[i] >= 0 && !bit_has(set, (uint32_t)next[i])) {
				bit_set(set, (uint32_t)next[i]);
				ss->stack[sp++] = next[i];
			}
	}
}

/* From a closed set: is MATCH there (matched now), and would it be reached
 * if the subject ended here (acc_end)? */
static void judge(struct subset *ss, bool pos0, bool *matched, bool *acc_end)
{
	const struct lx_nfa *nfa = ss->nfa;
	*matched = false;
	for (uint32_t i = 0; i < nfa->n; i++)
		if (nfa->st[i].kind == LX_N_MATCH && bit_has(ss->full, i))
			*matched = true;
	if (*matched) {
		*acc_end = true;
		return;
	}
	/* Re-close from the EOL nodes with '$' passable. */
	memcpy(ss->tmp, ss->full, ss->words * sizeof(uint64_t));
	uint32_t n = 0;
	for (uint32_t i = 0; i < nfa->n; i++)
		if (nfa->st[i].kind == LX_N_EOL && bit_has(ss->full, i))
			ss->stack[nfa->n + n++] = (int32_t)i;
	/* closure() pushes onto stack[0..]; the seeds live above nfa->n. */
	uint32_t sp = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct lx_nstate *s = &nfa->st[ss->stack[nfa->n + k]];
		if (s->out >= 0 && !bit_has(ss->tmp, (uint32_t)s->out)) {
			bit_set(ss->tmp, (uint32_t)s->out);
			ss->stack[sp++] = s->out;
		}
	}
	while (sp) {
		const struct lx_nstate *s = &nfa->st[ss->stack[--sp]];
		int32_t next[2] = {-1, -1};
		if (s->kind == LX_N_EPS) {
			next[0] = s->out;
			next[1] = s->out2;
		} else if (s->kind == LX_N_EOL || (s->kind == LX_N_BOL && pos0)) {
			next[0] = s->out;
		}
		for (int i = 0; i < 2; i++)
			if (next[i] >= 0 && !bit_has(ss->tmp, (uint32_t)next[i])) {
				bit_set(ss->tmp, (uint32_t)next[i]);
				ss->stack[sp++] = next[i];
			}
	}
	*acc_end = false;
	for (uint32_t i = 0; i < nfa->n; i++)
		if (nfa->st[i].kind == LX_N_MATCH && bit_has(ss->tmp, i))
			*acc_end = true;
}

#define KF_ACC 1u
#define KF_POS0 2u
#define KF_ALL 4u

/* Key of the closed set: its SYM nodes, then a flags word. */
static void make_key(struct subset *ss, uint32_t *key, bool matched, bool acc_end, bool pos0)
{
	size_t kw32 = ss->words * 2;
	if (matched) {
		memset(key, 0, (kw32 + 1) * sizeof(uint32_t));
		key[kw32] = KF_ALL | KF_ACC;
		return;
	}
	for (size_t w = 0; w < ss->words; w++) {
		uint64_t v = ss->full[w] & ss->symmask[w];
		key[2 * w] = (uint32_t)v;
		key[2 * w + 1] = (uint32_t)(v >> 32);
	}
	key[kw32] = (acc_end ? KF_ACC : 0) | (pos0 ? KF_POS0 : 0);
}

struct raw_dfa {
	uint32_t n, cap;
	uint32_t *next;
	uint8_t *acc;
};

static int raw_add(struct raw_dfa *r, bool acc)
{
	if (r->n == r->cap) {
		uint32_t nc = r->cap ? r->cap * 2 : 64;
		uint32_t *nn = realloc(r->next, (size_t)nc * LX_NSYM * sizeof(uint32_t));
		if (!nn)
			return -ENOMEM;
		r->next = nn;
		uint8_t *na = realloc(r->acc, nc);
		if (!na)
			return -ENOMEM;
		r->acc = na;
		r->cap = nc;
	}
	r->acc[r->n++] = acc;
	return 0;
}

/* Reverse reachability: mark[s] = some state with flag `want` (per good[]) is
 * reachable from s. */
static int reach_back(uint32_t n, const uint32_t *next, const uint8_t *good, uint8_t *mark)
{
	/* Reverse edges in CSR form. */
	uint32_t *cnt = calloc((size_t)n + 1, sizeof(*cnt));
	uint32_t *rev = malloc((size_t)n * LX_NSYM * sizeof(*rev) + 1);
	uint32_t *queue = malloc((size_t)n * sizeof(*queue) + 1);
	int rc = -ENOMEM;
	if (!cnt || !rev || !queue)
		goto out;
	for (uint32_t s = 0; s < n; s++)
		for (unsigned a = 0; a < LX_NSYM; a++)
			cnt[next[(size_t)s * LX_NSYM + a] + 1]++;
	for (uint32_t s = 0; s < n; s++)
		cnt[s + 1] += cnt[s];
	uint32_t *pos = calloc((size_t)n + 1, sizeof(*pos));
	if (!pos)
		goto out;
	memcpy(pos, cnt, ((size_t)n + 1) * sizeof(*pos));
	for (uint32_t s = 0; s < n; s++)
		for (unsigned a = 0; a < LX_NSYM; a++) {
			uint32_t t = next[(size_t)s * LX_NSYM + a];
			rev[pos[t]++] = s;
		}
	free(pos);
	uint32_t qh = 0, qt = 0;
	for (uint32_t s = 0; s < n; s++) {
		mark[s] = good[s];
		if (good[s])
			queue[qt++] = s;
	}
	while (qh < qt) {
		uint32_t t = queue[qh++];
		for (uint32_t i = cnt[t]; i < cnt[t + 1]; i++)
			if (!mark[rev[i]]) {
				mark[rev[i]] = 1;
				queue[qt++] = rev[i];
			}
	}
	rc = 0;
out:
	free(cnt);
	free(rev);
	free(queue);
	return rc;
}

static int set_flags(struct lx_dfa *d)
{
	uint8_t *good = calloc(d->n + 1, 1), *mark = calloc(d->n + 1, 1);
	int rc = -ENOMEM;
	if (!good || !mark)
		goto out;
	for (uint32_t s = 0; s < d->n; s++)
		good[s] = d->flags[s] & LX_F_ACC;
	if ((rc = reach_back(d->n, d->next, good, mark)))
		goto out;
	for (uint32_t s = 0; s < d->n; s++)
		if (!mark[s])
			d->flags[s] |= LX_F_DEAD;
	for (uint32_t s = 0; s < d->n; s++)
		good[s] = !(d->flags[s] & LX_F_ACC);
	if ((rc = reach_back(d->n, d->next, good, mark)))
		goto out;
	for (uint32_t s = 0; s < d->n; s++)
		if (!mark[s])
			d->flags[s] |= LX_F_ALL;
out:
	free(good);
	free(mark);
	return rc;
}

/* Moore partition refinement; the result is numbered in BFS order from the
 * start, so equal languages give identical automata. */
static int minimise(const struct raw_dfa *r, struct lx_dfa *out)
{
	uint32_t n = r->n;
	uint32_t *cls = malloc((size_t)n * sizeof(*cls));
	uint32_t *ncls = malloc((size_t)n * sizeof(*ncls));
	uint32_t sig[LX_NSYM + 1];
	uint32_t count = 0;
	int rc = -ENOMEM;
	struct keyset ks;
	ks_init(&ks, LX_NSYM + 1);
	if (!cls || !ncls)
		goto out;

	bool has[2] = {false, false};
	for (uint32_t s = 0; s < n; s++)
		has[r->acc[s] ? 1 : 0] = true;
	for (uint32_t s = 0; s < n; s++)
		cls[s] = has[0] && r->acc[s] ? 1 : 0;
	count = (uint32_t)has[0] + (uint32_t)has[1];

	for (;;) {
		ks_free(&ks);
		ks_init(&ks, LX_NSYM + 1);
		for (uint32_t s = 0; s < n; s++) {
			bool added;
			sig[0] = cls[s];
			for (unsigned a = 0; a < LX_NSYM; a++)
				sig[a + 1] = cls[r->next[(size_t)s * LX_NSYM + a]];
			long id = ks_put(&ks, sig, &added);
			if (id < 0)
				goto out;
			ncls[s] = (uint32_t)id;
		}
		uint32_t *t = cls;
		cls = ncls;
		ncls = t;
		if (ks.n == count)
			break;
		count = ks.n;
	}

	/* Renumber classes in BFS order from the start's class. */
	uint32_t *order = malloc((size_t)count * sizeof(*order));
	uint32_t *rep = malloc((size_t)count * sizeof(*rep));
	if (!order || !rep) {
		free(order);
		free(rep);
		goto out;
	}
	for (uint32_t c = 0; c < count; c++)
		order[c] = UINT32_MAX;
	for (uint32_t s = 0; s < n; s++)
		rep[cls[s]] = s; /* any member */
	uint32_t m = 0;
	uint32_t *queue = ncls; /* reuse: holds classes */
	order[cls[0]] = m;
	queue[m++] = cls[0];
	for (uint32_t qh = 0; qh < m; qh++) {
		uint32_t s = rep[queue[qh]];
		for (unsigned a = 0; a < LX_NSYM; a++) {
			uint32_t c = cls[r->next[(size_t)s * LX_NSYM + a]];
			if (order[c] == UINT32_MAX) {
				order[c] = m;
				queue[m++] = c;
			}
		}
	}
	out->n = m;
	out->next = malloc((size_t)m * LX_NSYM * sizeof(uint32_t));
	out->flags = calloc(m, 1);
	if (!out->next || !out->flags) {
		free(order);
		free(rep);
		goto out;
	}
	for (uint32_t q = 0; q < m; q++) {
		uint32_t s = rep[queue[q]];
		for (unsigned a = 0; a < LX_NSYM; a++)
			out->next[(size_t)q * LX_NSYM + a] = order[cls[r->next[(size_t)s * LX_NSYM + a]]];
		out->flags[q] = r->acc[s] ? LX_F_ACC : 0;
	}
	free(order);
	free(rep);
	rc = set_flags(out);
out:
	ks_free(&ks);
	free(cls);
	free(ncls);
	return rc;
}

void lx_dfa_free(struct lx_dfa *d)
{
	free(d->next);
	free(d->flags);
	*d = (struct lx_dfa){0};
}

enum lx_status lx_dfa_build(const struct lx_nfa *nfa, uint32_t max_states, struct lx_dfa *out)
{
	struct subset ss = {.nfa = nfa, .words = (nfa->n + 63) / 64};
	struct raw_dfa raw = {0};
	struct keyset ks;
	size_t kw = ss.words * 2 + 1;
	uint32_t *key = malloc(kw * sizeof(uint32_t));
	int32_t *seeds = malloc(((size_t)nfa->n + 1) * sizeof(*seeds));
	enum lx_status st = LX_LIMIT;
	bool matched, acc_end, added;

	*out = (struct lx_dfa){0};
	ks_init(&ks, kw);
	ss.full = calloc(ss.words + 1, sizeof(uint64_t));
	ss.tmp = calloc(ss.words + 1, sizeof(uint64_t));
	ss.symmask = calloc(ss.words + 1, sizeof(uint64_t));
	ss.stack = malloc(((size_t)nfa->n * 2 + 2) * sizeof(int32_t));
	if (!key || !seeds || !ss.full || !ss.tmp || !ss.symmask || !ss.stack || nfa->start < 0)
		goto out;
	for (uint32_t i = 0; i < nfa->n; i++)
		if (nfa->st[i].kind == LX_N_SYM)
			bit_set(ss.symmask, i);

	/* The start: position 0, '^' passable. */
	memset(ss.full, 0, ss.words * sizeof(uint64_t));
	closure(&ss, ss.full, &nfa->start, 1, true, false);
	judge(&ss, true, &matched, &acc_end);
	make_key(&ss, key, matched, acc_end, true);
	if (ks_put(&ks, key, &added) < 0 || raw_add(&raw, acc_end))
		goto out;

	for (uint32_t id = 0; id < ks.n; id++) {
		const uint32_t *k = &ks.keys[(size_t)id * kw];
		bool all = k[kw - 1] & KF_ALL;
		for (unsigned a = 0; a < LX_NSYM; a++) {
			if (all) {
				raw.next[(size_t)id * LX_NSYM + a] = id;
				continue;
			}
			uint32_t ns = 0;
			for (uint32_t i = 0; i < nfa->n; i++) {
				if (!(k[i / 32] >> (i % 32) & 1))
					continue;
				const struct lx_nstate *s = &nfa->st[i];
				if (s->set >> a & 1)
					seeds[ns++] = s->out;
			}
			seeds[ns++] = nfa->start; /* search: a match may start anywhere */
			memset(ss.full, 0, ss.words * sizeof(uint64_t));
			closure(&ss, ss.full, seeds, ns, false, false);
			judge(&ss, false, &matched, &acc_end);
			make_key(&ss, key, matched, acc_end, false);
			long t = ks_put(&ks, key, &added);
			if (t < 0)
				goto out;
			if (added) {
				if (ks.n > max_states)
					goto out;
				if (raw_add(&raw, acc_end))
					goto out;
				k = &ks.keys[(size_t)id * kw]; /* keys may have moved */
			}
			raw.next[(size_t)id * LX_NSYM + a] = (uint32_t)t;
		}
	}
	if (minimise(&raw, out) == 0)
		st = LX_OK;
out:
	if (st != LX_OK)
		lx_dfa_free(out);
	ks_free(&ks);
	free(raw.next);
	free(raw.acc);
	free(key);
	free(seeds);
	free(ss.full);
	free(ss.tmp);
	free(ss.symmask);
	free(ss.stack);
	return st;
}

enum lx_status lx_dfa_from_pattern(const char *pat, uint32_t max_states, struct lx_dfa *out,
				   bool *other_partial, char *why, size_t whylen)
{
	struct lx_nfa nfa;
	enum lx_status st = lx_compile(pat, strlen(pat), LX_NFA_MAX_DEFAULT, &nfa, why, whylen);
	*out = (struct lx_dfa){0};
	if (other_partial)
		*other_partial = false;
	if (st == LX_OK) {
		if (other_partial)
			*other_partial = nfa.other_partial;
		st = lx_dfa_build(&nfa, max_states, out);
		if (st != LX_OK && why && whylen)
			snprintf(why, whylen, "more than %u deterministic states", max_states);
	}
	lx_nfa_free(&nfa);
	return st;
}

bool lx_dfa_accepts(const struct lx_dfa *d, const char *s, size_t len)
{
	uint32_t q = 0;
	if (!d->n)
		return false;
	for (size_t i = 0; i < len; i++) {
		int a = lx_sym_of((unsigned char)s[i]);
		if (a < 0)
			return false;
		q = d->next[(size_t)q * LX_NSYM + (unsigned)a];
	}
	return d->flags[q] & LX_F_ACC;
}

/* ---- products ----------------------------------------------------------------------- */

struct bfs {
	struct keyset ks;
	uint32_t *parent;
	uint8_t *sym;
	uint32_t cap;
};

static int bfs_note(struct bfs *b, uint32_t id, uint32_t parent, uint8_t sym)
{
	if (id >= b->cap) {
		uint32_t nc = b->cap ? b->cap * 2 : 256;
		while (nc <= id)
			nc *= 2;
		uint32_t *np = realloc(b->parent, (size_t)nc * sizeof(*np));
		if (!np)
			return -ENOMEM;
		b->parent = np;
		uint8_t *nsym = realloc(b->sym, nc);
		if (!nsym)
			return -ENOMEM;
		b->sym = nsym;
		b->cap = nc;
	}
	b->parent[id] = parent;
	b->sym[id] = sym;
	return 0;
}

static char *bfs_path(const struct bfs *b, uint32_t id)
{
	size_t len = 0;
	for (uint32_t x = id; x != 0; x = b->parent[x])
		len++;
	char *w = malloc(len + 1);
	if (!w)
		return NULL;
	w[len] = '\0';
	for (uint32_t x = id; x != 0; x = b->parent[x])
		w[--len] = lx_sym_char(b->sym[x]);
	return w;
}

static void bfs_free(struct bfs *b)
{
	ks_free(&b->ks);
	free(b->parent);
	free(b->sym);
}

static bool goal(const struct lx_dfa *const *d, const uint8_t *req, size_t k, const uint32_t *t)
{
	for (size_t i = 0; i < k; i++) {
		bool acc = d[i]->flags[t[i]] & LX_F_ACC;
		if ((req[i] == LX_ACCEPT && !acc) || (req[i] == LX_REJECT && acc))
			return false;
	}
	return true;
}

static bool hopeless(const struct lx_dfa *const *d, const uint8_t *req, size_t k,
		     const uint32_t *t)
{
	for (size_t i = 0; i < k; i++) {
		uint8_t f = d[i]->flags[t[i]];
		if ((req[i] == LX_ACCEPT && (f & LX_F_DEAD)) || (req[i] == LX_REJECT && (f & LX_F_ALL)))
			return true;
	}
	return false;
}

int lx_find(const struct lx_dfa *const *d, const uint8_t *req, size_t k, uint64_t max_states,
	    char **witness, uint64_t *explored)
{
	struct bfs b = {0};
	uint32_t *t = calloc(k + 1, sizeof(*t));
	int rc = -ENOMEM;
	bool added;

	*witness = NULL;
	ks_init(&b.ks, k);
	if (!t)
		goto out;
	if (ks_put(&b.ks, t, &added) < 0 || bfs_note(&b, 0, 0, 0))
		goto out;
	if (hopeless(d, req, k, t)) {
		rc = 0;
		goto out;
	}
	if (goal(d, req, k, t)) {
		*witness = bfs_path(&b, 0);
		rc = *witness ? 1 : -ENOMEM;
		goto out;
	}
	for (uint32_t head = 0; head < b.ks.n; head++) {
		for (unsigned a = 0; a < LX_NSYM; a++) {
			const uint32_t *cur = &b.ks.keys[(size_t)head * k];
			for (size_t i = 0; i < k; i++)
				t[i] = d[i]->next[(size_t)cur[i] * LX_NSYM + a];
			if (hopeless(d, req, k, t))
				continue;
			long id = ks_put(&b.ks, t, &added);
			if (id < 0)
				goto out;
			if (!added)
				continue;
			if (bfs_note(&b, (uint32_t)id, head, (uint8_t)a))
				goto out;
			if (goal(d, req, k, t)) {
				*witness = bfs_path(&b, (uint32_t)id);
				rc = *witness ? 1 : -ENOMEM;
				goto out;
			}
			if (b.ks.n > max_states) {
				rc = -E2BIG;
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (explored)
		*explored = b.ks.n;
	free(t);
	bfs_free(&b);
	return rc;
}

void lx_regions_free(struct lx_regions *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].sig);
		for (uint32_t w = 0; w < r->v[i].n_wit; w++)
			free(r->v[i].wit[w]);
	}
	free(r->v);
	*r = (struct lx_regions){0};
}

/*
 * Breadth first with up to LX_REGION_WIT paths per product state, all of the
 * length it was first reached at: a state reached again at that depth by a
 * different path keeps it (e.g. +1214..., +1469..., +1972... all lead to
 * "a Dallas number in progress"), and its successors inherit every path,
 * so a region's examples differ where the patterns allow it.
 */
struct vbfs {
	uint32_t *par;  /* [id * W + v]: parent state */
	uint8_t *pv;    /* parent's path index */
	uint8_t *sym;
	uint8_t *nv;    /* paths kept per state */
	uint16_t *depth;
	uint32_t cap;
};

#define W LX_REGION_WIT

static int vbfs_grow(struct vbfs *v, uint32_t id)
{
	if (id < v->cap)
		return 0;
	uint32_t nc = v->cap ? v->cap * 2 : 256;
	while (nc <= id)
		nc *= 2;
	uint32_t *par = realloc(v->par, (size_t)nc * W * sizeof(*par));
	if (!par)
		return -ENOMEM;
	v->par = par;
	uint8_t *pv = realloc(v->pv, (size_t)nc * W);
	if (!pv)
		return -ENOMEM;
	v->pv = pv;
	uint8_t *sym = realloc(v->sym, (size_t)nc * W);
	if (!sym)
		return -ENOMEM;
	v->sym = sym;
	uint8_t *nv = realloc(v->nv, nc);
	if (!nv)
		return -ENOMEM;
	v->nv = nv;
	uint16_t *depth = realloc(v->depth, (size_t)nc * sizeof(*depth));
	if (!depth)
		return -ENOMEM;
	v->depth = depth;
	v->cap = nc;
	return 0;
}

static char *vbfs_path(const struct vbfs *v, uint32_t id, uint8_t var)
{
	size_t len = v->depth[id];
	char *w = malloc(len + 1);
	if (!w)
		return NULL;
	w[len] = '\0';
	while (len) {
		size_t i = (size_t)id * W + var;
		w[--len] = lx_sym_char(v->sym[i]);
		id = v->par[i];
		var = v->pv[i];
	}
	return w;
}

int lx_regions(const struct lx_dfa *const *d, size_t k, uint64_t max_states, struct lx_regions *out)
{
	struct keyset ks, sigs;
	struct vbfs v = {0};
	size_t sw = k > 1 ? (k - 1 + 63) / 64 : 1;
	uint32_t *t = calloc(k + 1, sizeof(*t));
	uint64_t *sig = calloc(sw, sizeof(*sig));
	uint32_t *sig32 = calloc(sw * 2, sizeof(*sig32));
	int rc = -ENOMEM;
	bool added;

	*out = (struct lx_regions){.sig_words = sw, .complete = false};
	ks_init(&ks, k);
	ks_init(&sigs, sw * 2);
	if (!t || !sig || !sig32 || k == 0)
		goto out;
	if (ks_put(&ks, t, &added) < 0 || vbfs_grow(&v, 0))
		goto out;
	v.nv[0] = 1;
	v.depth[0] = 0;
	for (uint32_t head = 0; head < ks.n; head++) {
		const uint32_t *cur = &ks.keys[(size_t)head * k];
		if (d[0]->flags[cur[0]] & LX_F_DEAD)
			continue;
		if (d[0]->flags[cur[0]] & LX_F_ACC) {
			memset(sig, 0, sw * sizeof(*sig));
			memset(sig32, 0, sw * 2 * sizeof(*sig32));
			for (size_t i = 1; i < k; i++)
				if (d[i]->flags[cur[i]] & LX_F_ACC) {
					sig[(i - 1) / 64] |= 1ull << ((i - 1) % 64);
					sig32[(i - 1) / 32] |= 1u << ((i - 1) % 32);
				}
			long r = ks_put(&sigs, sig32, &added);
			if (r < 0)
				goto out;
			if (added) {
				if (out->n == out->cap) {
					size_t nc = out->cap ? out->cap * 2 : 16;
					struct lx_region *nvv = realloc(out->v, nc * sizeof(*nvv));
					if (!nvv)
						goto out;
					out->v = nvv;
					out->cap = nc;
				}
				struct lx_region *reg = &out->v[out->n];
				*reg = (struct lx_region){.sig = malloc(sw * sizeof(uint64_t))};
				if (!reg->sig)
					goto out;
				out->n++;
				memcpy(reg->sig, sig, sw * sizeof(uint64_t));
			}
			struct lx_region *reg = &out->v[r];
			for (uint8_t x = 0; x < v.nv[head] && reg->n_wit < LX_REGION_WIT; x++) {
				char *w = vbfs_path(&v, head, x);
				if (!w)
					goto out;
				reg->wit[reg->n_wit++] = w;
			}
		}
		for (unsigned a = 0; a < LX_NSYM; a++) {
			cur = &ks.keys[(size_t)head * k];
			for (size_t i = 0; i < k; i++)
				t[i] = d[i]->next[(size_t)cur[i] * LX_NSYM + a];
			if (d[0]->flags[t[0]] & LX_F_DEAD)
				continue;
			long id = ks_put(&ks, t, &added);
			if (id < 0 || vbfs_grow(&v, (uint32_t)id))
				goto out;
			if (added) {
				v.nv[id] = 0;
				v.depth[id] = (uint16_t)(v.depth[head] + 1);
			} else if (v.depth[id] != v.depth[head] + 1) {
				continue;
			}
			for (uint8_t x = 0; x < v.nv[head] && v.nv[id] < W; x++) {
				size_t i = (size_t)id * W + v.nv[id]++;
				v.par[i] = head;
				v.pv[i] = x;
				v.sym[i] = (uint8_t)a;
			}
			if (added && ks.n > max_states) {
				rc = -E2BIG;
				goto out;
			}
		}
	}
	out->complete = true;
	rc = 0;
out:
	out->explored = ks.n;
	free(t);
	free(sig);
	free(sig32);
	ks_free(&sigs);
	ks_free(&ks);
	free(v.par);
	free(v.pv);
	free(v.sym);
	free(v.nv);
	free(v.depth);
	return rc;
}

#undef W
