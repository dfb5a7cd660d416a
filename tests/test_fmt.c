/* test_fmt.c: malloc-free formatting (preload/fmt.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"

Test(fmt, numbers)
{
	char buf[64];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf);
	fmt_u64(&f, 0);
	fmt_chr(&f, ' ');
	fmt_u64(&f, UINT64_MAX);
	fmt_chr(&f, ' ');
	fmt_i64(&f, INT64_MIN);
	fmt_chr(&f, ' ');
	fmt_hex(&f, 0x7f00dead0001ull);
	cr_assert_str_eq(buf, "0 18446744073709551615 -9223372036854775808 7f00dead0001");
}

Test(fmt, truncation_is_flagged_and_terminated)
{
	char buf[8];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf);
	fmt_str(&f, "0123456789");
	cr_assert(f.truncated);
	cr_assert_eq(f.len, 7);
	cr_assert_str_eq(buf, "0123456");
}

/* Characters and hex numbers written in place, and at the buffer's end the same as
 * through the copying path: every length of buffer, every number of digits. */
Test(fmt, hex_and_chars_at_every_buffer_end)
{
	const uint64_t vals[] = { 0, 1, 0xf, 0x10, 0xabc, 0x7f00dead0001ull, UINT64_MAX };
	const char *text[] = { "0", "1", "f", "10", "abc", "7f00dead0001", "ffffffffffffffff" };
	for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
		char want[40];
		snprintf(want, sizeof want, "x%s.", text[v]);
		for (size_t cap = 0; cap <= strlen(want) + 1; cap++) {
			char buf[40];
			memset(buf, '#', sizeof buf);
			fmt_t f;
			fmt_init(&f, buf, cap);
			fmt_chr(&f, 'x');
			fmt_hex(&f, vals[v]);
			fmt_chr(&f, '.');
			size_t fits = cap ? cap - 1 : 0;
			size_t n = strlen(want) < fits ? strlen(want) : fits;
			cr_assert_eq(f.len, n, "%s in %zu bytes: %zu", want, cap, f.len);
			cr_assert_eq(f.truncated, n < strlen(want), "%s in %zu bytes", want, cap);
			cr_assert(!cap || (!memcmp(buf, want, n) && buf[n] == '\0'),
				  "%s in %zu bytes", want, cap);
			cr_assert_eq(buf[cap], '#', "%s in %zu bytes: written past the end", want, cap);
		}
	}
}

Test(fmt, escaping_makes_one_field)
{
	char buf[128];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf);
	fmt_escaped(&f, "/tmp/my dir/100%\n\x7f\xc3\xa9");
	cr_assert_str_eq(buf, "/tmp/my%20dir/100%25%0A%7F%C3%A9");
	fmt_init(&f, buf, sizeof buf);
	fmt_escaped(&f, "");
	cr_assert_str_eq(buf, "%00");
}

Test(fmt, sizes)
{
	char buf[64];
	fmt_t f;
	const struct { uint64_t v; const char *s; } cases[] = {
		{ 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.0 KiB" }, { 1536, "1.5 KiB" },
		{ 200ull << 20, "200.0 MiB" }, { (3ull << 30) + (1ull << 29), "3.5 GiB" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fmt_init(&f, buf, sizeof buf);
		fmt_size(&f, cases[i].v);
		cr_assert_str_eq(buf, cases[i].s);
	}
}

Test(fmt, log_pattern)
{
	char buf[64];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf);
	fmt_pattern(&f, "/x/ag.%e.%p.log%%%q", 1234, "prog");
	cr_assert_str_eq(buf, "/x/ag.prog.1234.log%%q");
	fmt_init(&f, buf, 8);
	fmt_pattern(&f, "%e.%p", 99, "a_long_name");
	cr_assert(f.truncated, "a name that does not fit is said to be cut");
}

Test(fmt, parse_u64)
{
	uint64_t v = 7;
	cr_assert_eq(fmt_parse_u64("18446744073709551615", 20, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(fmt_parse_u64("18446744073709551616", 20, &v), EINVAL, "overflow");
	cr_assert_eq(fmt_parse_u64("12x", 2, &v), 0, "only the n bytes count");
	cr_assert_eq(v, 12);
	cr_assert_eq(fmt_parse_u64("12x", 3, &v), EINVAL);
	cr_assert_eq(fmt_parse_u64("", 0, &v), EINVAL);
	cr_assert_eq(v, 12, "a rejected value is not stored");
}

Test(fmt, scan_hex_stops_at_a_non_digit_or_the_end)
{
	const char *line = "7f3a00-7f3b0f rw-p", *p = line;
	cr_assert_eq(fmt_scan_hex(&p, line + 18), 0x7f3a00);
	cr_assert_eq(*p, '-');
	p++;
	cr_assert_eq(fmt_scan_hex(&p, line + 18), 0x7f3b0f);
	cr_assert_eq(p, line + 13);
	p = line;
	cr_assert_eq(fmt_scan_hex(&p, line + 3), 0x7f3, "nothing read past the end");
	cr_assert_eq(p, line + 3);
	cr_assert_eq(fmt_scan_hex(&p, line + 3), 0, "none: 0, and p stays");
	cr_assert_eq(p, line + 3);
}
