/*
 * libFuzzer target for the Hyperscan cache file reader (rt_hscache_parse).
 * The first input byte picks a mode:
 *
 *   even: the rest is a cache file as found on disk. The parser must not
 *         read outside it, and what it accepts must be self-consistent
 *         (pointers inside the buffer, lengths adding up, the header it
 *         would write for that content byte-identical).
 *   odd:  the rest is [u8 cut][u8 k][payload...]; a valid file is written
 *         for payload and k bytes of inputs taken from its end, then
 *         damaged (flip bytes at positions chosen by the input, or cut to
 *         a shorter length). The undamaged file must parse to exactly what
 *         was written, and every damage must be rejected.
 *
 * Hyperscan's own deserialiser is not fuzzed here: a file only reaches it
 * after its checksum matched what strowger itself wrote.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_hscache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const uint8_t *b, size_t len, const struct rt_hscache_file *f)
{
	if (f->key != b + 16 || f->payload != b + RT_HSCACHE_HDR ||
	    f->inputs != f->payload + f->payload_len ||
	    RT_HSCACHE_HDR + f->payload_len + f->inputs_len != len)
		abort();
	uint8_t hdr[RT_HSCACHE_HDR];
	rt_hscache_header(hdr, f->key, f->payload, f->payload_len, f->inputs, f->inputs_len);
	if (memcmp(hdr, b, RT_HSCACHE_HDR) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_hscache_file f;
	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		/* A copy of exactly the file's size, so ASan sees any overread. */
		size_t len = size - 1;
		uint8_t *b = malloc(len ? len : 1);
		if (!b)
			return 0;
		memcpy(b, data + 1, len);
		if (rt_hscache_parse(b, len, &f) == 0)
			check_accepted(b, len, &f);
		free(b);
		return 0;
	}
	if (size < 3)
		return 0;
	uint8_t cut = data[1], k = data[2];
	const uint8_t *content = data + 3;
	size_t clen = size - 3;
	size_t ilen = k < clen ? k : clen;
	size_t plen = clen - ilen;
	uint8_t key[RT_HSCACHE_KEY];
	for (int i = 0; i < RT_HSCACHE_KEY; i++)
		key[i] = (uint8_t)(cut * 31 + k + i);
	size_t len = RT_HSCACHE_HDR + clen;
	uint8_t *b = malloc(len);
	if (!b)
		return 0;
	rt_hscache_header(b, key, content, plen, content + plen, ilen);
	memcpy(b + RT_HSCACHE_HDR, content, clen);

	if (rt_hscache_parse(b, len, &f) != 0 || memcmp(f.key, key, RT_HSCACHE_KEY) ||
	    f.payload_len != plen || f.inputs_len != ilen ||
	    memcmp(f.payload, content, plen) || memcmp(f.inputs, content + plen, ilen))
		abort();
	check_accepted(b, len, &f);

	if (cut & 1) {
		/* Any shorter file is rejected. */
		size_t l = (size_t)(cut >> 1) * len / 128;
		if (l < len && rt_hscache_parse(b, l, &f) == 0)
			abort();
	} else {
		/* Flip one to four bytes (positions from the content bytes). */
		size_t nflip = 1 + (cut >> 1) % 4, pos[4];
		for (size_t i = 0; i < nflip; i++) {
			size_t r = clen ? content[(i * 7) % clen] : 0;
			pos[i] = (r * 2654435761u + i * 97 + cut) % len;
			for (size_t j = 0; j < i; j++)
				if (pos[j] == pos[i])
					pos[i] = (pos[i] + 1) % len;
		}
		for (size_t i = 0; i < nflip; i++)
			b[pos[i]] ^= (uint8_t)(1u << (i + cut) % 8);
		int rc = rt_hscache_parse(b, len, &f);
		/* Two flips may land on the same byte and cancel: only assert
		 * when the bytes really differ from the original. */
		uint8_t *orig = malloc(len);
		if (!orig)
			abort();
		rt_hscache_header(orig, key, content, plen, content + plen, ilen);
		memcpy(orig + RT_HSCACHE_HDR, content, clen);
		if (rc == 0 && memcmp(orig, b, len) != 0) {
			fprintf(stderr, "damaged file accepted (%zu flips)\n", nflip);
			abort();
		}
		if (rc == 0)
			check_accepted(b, len, &f);
		free(orig);
	}
	free(b);
	return 0;
}
