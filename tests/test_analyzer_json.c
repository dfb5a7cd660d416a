/* test_analyzer_json.c: the JSON writer (analyzer/json.c): escaping of quotes, backslashes,
 * control bytes and invalid UTF-8, nesting and number formatting. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static char *esc(const char *s)
{
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	json_escape(f, s);
	fclose(f);
	return out;
}

Test(json, escapes_strings)
{
	struct { const char *in, *want; } c[] = {
		{ "plain", "\"plain\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "tab\there\nnl\r", "\"tab\\there\\nnl\\r\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "bad\xff\xc3(\xed\xa0\x80", "\"bad\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\"" },
		{ "", "\"\"" },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *got = esc(c[i].in);
		cr_assert_str_eq(got, c[i].want, "case %zu", i);
		free(got);
	}
}

Test(json, nests_and_formats_numbers)
{
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	json_t j;
	json_init(&j, f);
	json_obj(&j);
	json_key(&j, "a");
	json_arr(&j);
	json_u64(&j, 18446744073709551615ULL);
	json_i64(&j, -5);
	json_num(&j, 1.25, 2);
	json_num(&j, NAN, 1);
	json_num(&j, -0.0001, 1);
	json_bool(&j, 1);
	json_null(&j);
	json_str(&j, NULL);
	json_arr_end(&j);
	json_key(&j, "empty");
	json_obj(&j);
	json_obj_end(&j);
	json_obj_end(&j);
	json_done(&j);
	fclose(f);
	cr_assert_str_eq(out, "{\n  \"a\": [\n    18446744073709551615,\n    -5,\n    1.25,\n"
			      "    0.0,\n    0.0,\n    true,\n    null,\n    null\n  ],\n"
			      "  \"empty\": {}\n}\n");
	free(out);
}
