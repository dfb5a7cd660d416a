/* test_chains.c: the per-thread chain cache (preload/chains.c) on a stack made up in an
 * array: a chain is found again only while every pinned word holds what it held; paths that
 * share a key live side by side; pins stay inside the stack; a chain is pinned from learned
 * facts where the frames are where the facts say, and not where a frame pointer moved; the
 * facts are shared by threads and read whole while others write them. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "chains.h"
#include "logfmt.h"

/* A made-up stack: stack[1] is the slot of the first return address, stack[0] the word the
 * hook pushed under it (the first frame's frame pointer). */
static uintptr_t stack[64];

static chain_pins_t pins_for(void)
{
	chain_pins_t p = { .slot0 = (uintptr_t)&stack[1], .hi = (uintptr_t)&stack[64] };
	return p;
}

static void setup(void)
{
	for (int i = 0; i < 64; i++)
		stack[i] = 0x1000 + (uintptr_t)i;
	stack[1] = 0x401000;   /* return address into the first frame */
	stack[5] = 0x402000;   /* into its caller, 4 words up */
	stack[9] = 0x403000;
}

TestSuite(chains, .init = setup);

static void *learn_on_a_thread(void *arg)
{
	chains_learn(arg);
	return NULL;
}

Test(chains, found_while_every_pin_holds)
{
	chain_pins_t p = pins_for();
	chains_pin(&p, (uintptr_t)&stack[5], 0x402000);
	chains_pin(&p, (uintptr_t)&stack[9], 0x403000);
	chains_pin(&p, (uintptr_t)&stack[0], stack[0]);   /* a frame pointer, under the slot */
	cr_assert_eq(p.n, 3);
	chains_keep(&stack[1], AG_KIND_HEAP, p.off, p.val, p.n, 7);
	cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 7);
	cr_assert_eq(chains_find(&stack[1], AG_KIND_MMAP), 0, "kind is part of the key");
	cr_assert_eq(chains_find(&stack[2], AG_KIND_HEAP), 0, "the slot is part of the key");
	static const int pinned[] = { 0, 5, 9 };
	for (int j = 0; j < 3; j++) {
		int i = pinned[j];
		uintptr_t was = stack[i];
		stack[i] ^= 0x10;
		cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 0, "word %d changed", i);
		stack[i] = was;
	}
	stack[3] = 0xdead;   /* not pinned: a local of the first frame */
	cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 7);
}

Test(chains, paths_sharing_a_key_live_side_by_side)
{
	/* the same first frame at the same place, two callers further out */
	uint32_t ids[2] = { 11, 12 };
	uintptr_t outer[2] = { 0x403000, 0x404000 };
	for (int k = 0; k < 2; k++) {
		stack[9] = outer[k];
		chain_pins_t p = pins_for();
		chains_pin(&p, (uintptr_t)&stack[5], 0x402000);
		chains_pin(&p, (uintptr_t)&stack[9], outer[k]);
		chains_keep(&stack[1], AG_KIND_HEAP, p.off, p.val, p.n, ids[k]);
	}
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < 2; k++) {
			stack[9] = outer[k];
			cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), ids[k]);
		}
	}
	stack[9] = 0x405000;
	cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 0);
}

Test(chains, pins_stay_in_the_stack_and_hold)
{
	chain_pins_t p = pins_for();
	chains_pin(&p, (uintptr_t)&stack[64], 0);   /* past its top */
	cr_assert_lt(p.n, 0);
	p = pins_for();
	chains_pin(&p, (uintptr_t)stack - 8, 0);   /* below the word under the slot */
	cr_assert_lt(p.n, 0);
	p = pins_for();
	chains_pin(&p, (uintptr_t)&stack[5], 0x402001);   /* not what it holds */
	cr_assert_lt(p.n, 0);
	/* an unpinnable chain is not kept */
	chains_keep(&stack[1], AG_KIND_HEAP, p.off, p.val, p.n, 21);
	cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 0);
}

Test(chains, pinned_from_facts)
{
	/* frame 0 (return address 0x401000): sized 4 words by the stack pointer; frame 1
	 * (0x402000): found by its frame pointer, which frame 0 leaves in place (the word under
	 * the slot), pointing under frame 1's return address at stack[9]; frame 2 ends it */
	stack[0] = (uintptr_t)&stack[8];
	chains_learn(&(chain_fact_t){ .ip = 0x401000, .how = CHAIN_SP, .cfa = 4 * 8,
				      .ipsave = 8 });
	chains_learn(&(chain_fact_t){ .ip = 0x402000, .how = CHAIN_FP, .ipsave = 8,
				      .fpsave = 16 });
	chains_learn(&(chain_fact_t){ .ip = 0x403000, .how = CHAIN_END });
	uintptr_t frames[3] = { 0x401000 - 1, 0x402000 - 1, 0x403000 - 1 };
	chain_pins_t p = pins_for();
	cr_assert_eq(chains_pin_known(frames, 0, 3, true, &p), 3);
	cr_assert_eq(p.n, 3, "frame 1's return address, frame 1's frame pointer, frame 2's");
	chains_keep(&stack[1], AG_KIND_HEAP, p.off, p.val, p.n, 31);
	cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 31);
	/* frame 1 grew: its frame pointer moved, the old return address is still in place */
	stack[0] = (uintptr_t)&stack[12];
	cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 0);
	/* an unknown frame: the walk stops there, where that frame's stack pointer and frame
	 * pointer are, for the unwinder to step it; then goes on from the next frame */
	stack[0] = (uintptr_t)&stack[8];
	stack[9] = 0x40a000;
	frames[2] = 0x40a000 - 1;
	p = pins_for();
	cr_assert_eq(chains_pin_known(frames, 0, 3, true, &p), 2);
	cr_assert_eq(p.n, 3, "the frames before it pinned as before");
	cr_assert_eq(p.sp, (uintptr_t)&stack[10]);
	cr_assert_eq(p.fploc, (uintptr_t)&stack[8]);
	/* cut at the depth asked: the last frame needs no fact */
	p = pins_for();
	cr_assert_eq(chains_pin_known(frames, 0, 3, false, &p), 3);
	cr_assert_eq(p.n, 3);
}

Test(chains, walked_by_facts_alone)
{
	/* as pinned_from_facts, frame 2 ending the chain on a null frame pointer */
	stack[0] = (uintptr_t)&stack[8];
	chains_learn(&(chain_fact_t){ .ip = 0x401000, .how = CHAIN_SP, .cfa = 4 * 8, .ipsave = 8 });
	chains_learn(&(chain_fact_t){ .ip = 0x402000, .how = CHAIN_FP, .ipsave = 8, .fpsave = 16 });
	chains_learn(&(chain_fact_t){ .ip = 0x403000, .how = CHAIN_END, .fp0 = 1 });
	uintptr_t frames[8];
	chain_pins_t p = pins_for();
	cr_assert_eq(chains_walk_known(8, frames, &p), 0, "frame 2's frame pointer is not null");
	stack[8] = 0;
	p = pins_for();
	cr_assert_eq(chains_walk_known(8, frames, &p), 3);
	cr_assert_eq(frames[0], 0x401000 - 1);
	cr_assert_eq(frames[1], 0x402000 - 1);
	cr_assert_eq(frames[2], 0x403000 - 1);
	cr_assert_eq(p.n, 4, "two return addresses, frame 1's frame pointer, the null one");
	chains_keep(&stack[1], AG_KIND_HEAP, p.off, p.val, p.n, 41);
	cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 41);
	stack[8] = 0x1234;   /* the chain no longer ends there */
	cr_assert_eq(chains_find(&stack[1], AG_KIND_HEAP), 0);
	stack[8] = 0;
	/* cut at the depth asked: the last frame needs no fact */
	p = pins_for();
	cr_assert_eq(chains_walk_known(2, frames, &p), 2);
	cr_assert_eq(p.n, 1);
	/* a frame not known: the unwinder is asked */
	stack[9] = 0x40a000;
	p = pins_for();
	cr_assert_eq(chains_walk_known(8, frames, &p), 0);
	/* a return address that leads out of the stack */
	stack[9] = 0x403000;
	stack[0] = (uintptr_t)&stack[63];
	p = pins_for();
	cr_assert_eq(chains_walk_known(8, frames, &p), 0);
}

Test(chains, facts_are_shared_by_threads)
{
	chain_fact_t f = { .ip = 0x4a0000, .how = CHAIN_SP, .cfa = 48, .ipsave = 8 };
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, learn_on_a_thread, &f), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	chain_fact_t got;
	cr_assert(chains_fact(0x4a0000, &got));
	cr_assert_eq(got.how, CHAIN_SP);
	cr_assert_eq(got.cfa, 48);
	cr_assert_eq(got.ipsave, 8);
	cr_assert_not(chains_fact(0x4a0001, &got));
	/* a fact learnt again with another rule replaces it */
	f.how = CHAIN_FP;
	chains_learn(&f);
	cr_assert(chains_fact(0x4a0000, &got));
	cr_assert_eq(got.how, CHAIN_FP);
}

/* Many threads learn and read facts at once, each its own fact for the same addresses:
 * every fact read is one that was learnt whole (never a mix of two). */
#define RACERS 4
#define RACE_ROUNDS 20000

static void *race_facts(void *arg)
{
	uintptr_t base = (uintptr_t)arg;
	for (int i = 0; i < RACE_ROUNDS; i++) {
		uintptr_t ip = 0x500000 + (uintptr_t)(i % 64) * 8192 * 16;
		chain_fact_t f = { .ip = ip, .how = CHAIN_SP, .cfa = (int32_t)(base + (ip >> 4)),
				   .ipsave = (uint16_t)(base ^ 0x5a5a), .fpsave = (uint16_t)base };
		chains_learn(&f);
		chain_fact_t got;
		uintptr_t other = 0x500000 + (uintptr_t)((i * 7) % 64) * 8192 * 16;
		if (chains_fact(other, &got)) {
			uintptr_t b = (uintptr_t)(uint16_t)got.fpsave;
			if (got.ip != other || got.cfa != (int32_t)(b + (other >> 4)) ||
			    got.ipsave != (uint16_t)(b ^ 0x5a5a))
				return (void *)1;
		}
	}
	return NULL;
}

Test(chains, facts_read_whole_while_threads_write)
{
	pthread_t th[RACERS];
	for (uintptr_t i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, race_facts, (void *)(i + 1)), 0);
	for (int i = 0; i < RACERS; i++) {
		void *torn;
		cr_assert_eq(pthread_join(th[i], &torn), 0);
		cr_assert_null(torn, "a fact read was a mix of two");
	}
}
