/* test_options.c: the options table and its parsers (preload/options.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memavail.h"
#include "options.h"

Test(options, size_suffixes)
{
	uint64_t v;
	cr_assert_eq(opt_parse_size("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(opt_parse_size("512", &v), 0);
	cr_assert_eq(v, 512);
	cr_assert_eq(opt_parse_size("64K", &v), 0);
	cr_assert_eq(v, 65536);
	cr_assert_eq(opt_parse_size("200M", &v), 0);
	cr_assert_eq(v, 200ull << 20);
	cr_assert_eq(opt_parse_size("2G", &v), 0);
	cr_assert_eq(v, 2ull << 30);
	cr_assert_eq(opt_parse_size("1T", &v), 0);
	cr_assert_eq(v, 1ull << 40);
	cr_assert_eq(opt_parse_size("3KiB", &v), 0);
	cr_assert_eq(v, 3072);
}

Test(options, size_rejects_garbage)
{
	uint64_t v = 7;
	const char *bad[] = { "", "12Q", "K", "-1", "1.5G", "10 M", "99999999999999999999",
			      "20000000T", "0%", "101%", "50%x", "5MM" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(opt_parse_size(bad[i], &v), EINVAL, "accepted '%s'", bad[i]);
	cr_assert_eq(v, 7, "a rejected value must not be stored");
}

Test(options, size_percent_of_memory)
{
	uint64_t mem = memavail_limit(), v;
	cr_assert_gt(mem, 0);
	cr_assert_eq(opt_parse_size("50%", &v), 0);
	cr_assert_eq(v, mem / 100 * 50 + mem % 100 * 50 / 100, "50%% of %llu gave %llu",
		     (unsigned long long)mem, (unsigned long long)v);
	cr_assert_eq(opt_parse_size("100%", &v), 0);
	cr_assert_eq(v, mem);
}

Test(options, durations)
{
	uint64_t ms;
	cr_assert_eq(opt_parse_duration("250ms", &ms), 0);
	cr_assert_eq(ms, 250);
	cr_assert_eq(opt_parse_duration("2s", &ms), 0);
	cr_assert_eq(ms, 2000);
	cr_assert_eq(opt_parse_duration("1m", &ms), 0);
	cr_assert_eq(ms, 60000);
	cr_assert_eq(opt_parse_duration("0", &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(opt_parse_duration("5", &ms), EINVAL);
	cr_assert_eq(opt_parse_duration("5x", &ms), EINVAL);
	cr_assert_eq(opt_parse_duration("s", &ms), EINVAL);
	cr_assert_eq(opt_parse_duration("1h", &ms), EINVAL);
}

Test(options, defaults_match_the_contract)
{
	ag_config_t c;
	opt_defaults(&c);
	cr_assert_eq(c.cap, 0);
	cr_assert_eq(c.warn, 80);
	cr_assert_eq(c.critical, 90);
	cr_assert_eq(c.on_cap, AG_ON_CAP_FAIL);
	cr_assert_eq(c.interval, 1000);
	cr_assert_str_eq(c.log, "allocguard.%e.%p.log");
	cr_assert_str_eq(c.swap, "*.gguf:*.ggml:*.onnx:*.onnx.data:*.safetensors");
	cr_assert_eq(c.swap_min, 1 << 20);
	cr_assert_eq(c.chunk, 64 << 10);
	cr_assert_eq(c.sample, 0);
	cr_assert_eq(c.depth, 64);
}

Test(options, bad_values_name_the_variable)
{
	ag_config_t c;
	char err[512];
	opt_defaults(&c);
	const opt_desc_t *d = opt_find_flag("on-cap");
	cr_assert_not_null(d);
	cr_assert_eq(opt_set(&c, d, "explode", d->env, err, sizeof err), EINVAL);
	cr_assert(strstr(err, "ALLOCGUARD_ON_CAP='explode'"), "%s", err);
	cr_assert(strstr(err, "fail|abort|warn"), "%s", err);
	d = opt_find_flag("depth");
	cr_assert_eq(opt_set(&c, d, "0", "--depth", err, sizeof err), EINVAL);
	cr_assert(strstr(err, "--depth='0'"), "%s", err);
	cr_assert_eq(opt_set(&c, d, "257", "--depth", err, sizeof err), EINVAL);
	cr_assert_eq(opt_set(&c, d, "32", "--depth", err, sizeof err), 0);
	cr_assert_eq(c.depth, 32);
	d = opt_find_flag("chunk");
	cr_assert_eq(opt_set(&c, d, "1", "ALLOCGUARD_CHUNK", err, sizeof err), EINVAL);
	cr_assert(strstr(err, "between 4.0 KiB and 1.0 GiB"), "%s", err);
	d = opt_find_flag("warn");
	cr_assert_eq(opt_set(&c, d, "0", "ALLOCGUARD_WARN", err, sizeof err), EINVAL);
	cr_assert_eq(opt_set(&c, d, "101", "ALLOCGUARD_WARN", err, sizeof err), EINVAL);
	cr_assert_eq(strchr(err, '\n'), NULL, "one line only");
}

/* An empty log path is a bad value (it used to end in "cannot create log : ENOENT"); an
 * empty swap glob list is valid (swap off). */
Test(options, empty_log_is_rejected)
{
	ag_config_t c;
	char err[512];
	opt_defaults(&c);
	const opt_desc_t *d = opt_find_flag("out");
	cr_assert_not_null(d);
	cr_assert_eq(opt_set(&c, d, "", "--out", err, sizeof err), EINVAL);
	cr_assert(strstr(err, "--out=''"), "%s", err);
	cr_assert(strstr(err, "non-empty"), "%s", err);
	cr_assert_eq(strchr(err, '\n'), NULL, "one line only");
	cr_assert_eq(opt_set(&c, d, "x.log", "--out", err, sizeof err), 0);
	d = opt_find_flag("swap");
	cr_assert_eq(opt_set(&c, d, "", "--swap", err, sizeof err), 0);
	setenv("ALLOCGUARD_LOG", "", 1);
	cr_assert_eq(opt_load_env(&c, err, sizeof err), EINVAL);
	cr_assert(strstr(err, "ALLOCGUARD_LOG=''"), "%s", err);
	unsetenv("ALLOCGUARD_LOG");
}

Test(options, warn_must_be_below_critical)
{
	ag_config_t c;
	char err[512];
	opt_defaults(&c);
	cr_assert_eq(opt_check(&c, err, sizeof err), 0);
	c.warn = 95;
	cr_assert_eq(opt_check(&c, err, sizeof err), EINVAL);
	cr_assert(strstr(err, "95%"), "%s", err);
	c.warn = 90;
	cr_assert_eq(opt_check(&c, err, sizeof err), EINVAL);
}

Test(options, env_loading)
{
	ag_config_t c;
	char err[512];
	setenv("ALLOCGUARD_CAP", "200M", 1);
	setenv("ALLOCGUARD_ON_CAP", "abort", 1);
	setenv("ALLOCGUARD_INTERVAL", "100ms", 1);
	cr_assert_eq(opt_load_env(&c, err, sizeof err), 0, "%s", err);
	cr_assert_eq(c.cap, 200ull << 20);
	cr_assert_eq(c.on_cap, AG_ON_CAP_ABORT);
	cr_assert_eq(c.interval, 100);
	setenv("ALLOCGUARD_SAMPLE", "lots", 1);
	cr_assert_eq(opt_load_env(&c, err, sizeof err), EINVAL);
	cr_assert(strstr(err, "ALLOCGUARD_SAMPLE='lots'"), "%s", err);
	unsetenv("ALLOCGUARD_SAMPLE");
	unsetenv("ALLOCGUARD_CAP");
	unsetenv("ALLOCGUARD_ON_CAP");
	unsetenv("ALLOCGUARD_INTERVAL");
}

Test(options, every_row_is_documented_and_parses_its_default)
{
	ag_config_t c;
	char err[256];
	cr_assert_geq(opt_count, 12);
	for (size_t i = 0; i < opt_count; i++) {
		const opt_desc_t *d = &opt_table[i];
		cr_assert(strncmp(d->env, "ALLOCGUARD_", 11) == 0);
		cr_assert_gt(strlen(d->doc), 10);
		cr_assert_eq(opt_find_flag(d->flag), d);
		cr_assert_eq(opt_set(&c, d, d->def, d->env, err, sizeof err), 0, "%s: %s", d->env, err);
	}
}

Test(options, unknown_setting_names)
{
	char name[32];
	cr_assert(opt_env_unknown("ALLOCGUARD_CAPP=1G", name, sizeof name));
	cr_assert_str_eq(name, "ALLOCGUARD_CAPP");
	cr_assert_not(opt_env_unknown("ALLOCGUARD_CAP=1G", name, sizeof name));
	cr_assert_not(opt_env_unknown("ALLOCGUARD_SWAP_MODE=lazy", name, sizeof name));
	cr_assert_not(opt_env_unknown("PATH=/bin", name, sizeof name));
	cr_assert(opt_env_unknown("ALLOCGUARD_", name, sizeof name));
	cr_assert(opt_env_unknown("ALLOCGUARD_A_VERY_LONG_NAME_INDEED=1", name, 8));
	cr_assert_str_eq(name, "ALLOCGU");
}
