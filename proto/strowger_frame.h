#pragma once
/*
 * Control channel framing (proto/strowger.proto, "Control channel"): each
 * message is a 4-byte big-endian length, then that many bytes of protobuf.
 * Shared by strowgerd (control/daemon) and strowgerctl (control/ctl).
 */
#include <stddef.h>
#include <stdint.h>

#define STROWGER_FRAME_HDR 4
/* Largest frame either side accepts: a 1M-route config is ~100 MiB. */
#define STROWGER_FRAME_MAX (512u << 20)

static inline void strowger_frame_put_len(uint8_t *p, uint32_t len)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static inline uint32_t strowger_frame_get_len(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
