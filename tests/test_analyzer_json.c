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

/* The writer buffers its output: values that straddle its buffer, a string longer than the
 * buffer (escapes inside it) and deep indentation come out whole and in order. */
Test(json, output_crosses_the_buffer_whole)
{
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	size_t nlong = 3 * JSON_BUF + 7;
	char *lng = malloc(nlong + 1);
	cr_assert_not_null(lng);
	for (size_t i = 0; i < nlong; i++)
		lng[i] = i % 1000 == 999 ? '"' : (char)('a' + i % 26);
	lng[nlong] = '\0';
	json_t *j = malloc(sizeof *j);
	cr_assert_not_null(j);
	json_init(j, f);
	json_arr(j);
	for (int i = 0; i < 3000; i++) {
		json_i64(j, INT64_MIN + i);
		json_str(j, "x\ty");
	}
	json_str(j, lng);
	for (int d = 0; d < 40; d++)
		json_arr(j);
	json_u64(j, 7);
	for (int d = 0; d < 40; d++)
		json_arr_end(j);
	json_arr_end(j);
	json_done(j);
	fclose(f);

	/* the same document written by hand */
	char *want;
	size_t wlen;
	FILE *w = open_memstream(&want, &wlen);
	fputc('[', w);
	for (int i = 0; i < 3000; i++)
		fprintf(w, "%s\n  %lld,\n  \"x\\ty\"", i ? "," : "", (long long)(INT64_MIN + i));
	fputs(",\n  \"", w);
	for (size_t i = 0; i < nlong; i++)
		fputs(lng[i] == '"' ? "\\\"" : (char[]){ lng[i], 0 }, w);
	fputs("\",", w);
	/* JSON_MAX_DEPTH caps the indentation: deeper levels indent as the deepest */
	for (int d = 0; d < 40; d++) {
		int lvl = d + 1 < JSON_MAX_DEPTH - 1 ? d + 1 : JSON_MAX_DEPTH - 1;
		fprintf(w, "\n%*s[", 2 * lvl, "");
	}
	fprintf(w, "\n%*s7", 2 * (JSON_MAX_DEPTH - 1), "");
	fclose(w);
	cr_assert_eq(strncmp(out, want, wlen), 0, "the buffered output differs from the document");
	cr_assert_eq(out[len - 1], '\n');
	free(want);
	free(out);
	free(lng);
	free(j);
}
