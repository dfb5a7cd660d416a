/* test_glob.c: the swap glob matcher (preload/glob.c) against fnmatch's answers, and the
 * ':'-list form matched on basename and full path. */
#include <criterion/criterion.h>
#include <fnmatch.h>
#include <string.h>

#include "swapglob.h"

static bool m(const char *pat, const char *s)
{
	return swapglob_match(pat, strlen(pat), s);
}

Test(glob, literals_and_wildcards)
{
	cr_expect(m("model.gguf", "model.gguf"));
	cr_expect_not(m("model.gguf", "model.ggufx"));
	cr_expect(m("*.gguf", "llama-7b.Q4_K_M.gguf"));
	cr_expect(m("*.gguf", ".gguf"));
	cr_expect_not(m("*.gguf", "x.gguf.part"));
	cr_expect(m("*", ""));
	cr_expect_not(m("?", ""));
	cr_expect(m("m?del*.*", "model-1.bin"));
	cr_expect(m("**a*b**", "xxaxxbyy"));
	cr_expect_not(m("*a*b", "xxaxxbyy"));
	cr_expect(m("*.onnx.data", "weights.onnx.data"));
	cr_expect(m("/models/*", "/models/a/b.gguf"));   /* '*' crosses '/' like fnmatch */
}

Test(glob, brackets)
{
	cr_expect(m("[abc].bin", "b.bin"));
	cr_expect_not(m("[abc].bin", "d.bin"));
	cr_expect(m("[a-c]x", "cx"));
	cr_expect(m("[!a-c]x", "dx"));
	cr_expect(m("[^a-c]x", "dx"));
	cr_expect_not(m("[!a-c]x", "bx"));
	cr_expect(m("[]]", "]"));
	cr_expect(m("[!]]", "a"));
	cr_expect(m("[", "["));             /* unclosed: an ordinary character */
	cr_expect(m("a[", "a["));
	cr_expect(m("\\*", "*"));
	cr_expect_not(m("\\*", "x"));
}

Test(glob, agrees_with_fnmatch)
{
	const char *pats[] = { "*.gguf", "a*b?c", "[a-m]*[0-9]", "*[!.]", "?*?", "x[]y]z", "*a*a*a" };
	const char *strs[] = { "a.gguf", "aXbYc", "abc", "m9", "n9", "file.", "xyz", "x]z",
			       "aaa", "abab", "", "a" };
	for (size_t i = 0; i < sizeof pats / sizeof *pats; i++)
		for (size_t j = 0; j < sizeof strs / sizeof *strs; j++)
			cr_expect_eq(m(pats[i], strs[j]), fnmatch(pats[i], strs[j], 0) == 0,
				     "pattern '%s' vs '%s'", pats[i], strs[j]);
}

Test(glob, list_matches_basename_or_path)
{
	const char *list = "*.gguf:*.ggml:*.onnx:*.onnx.data:*.safetensors";
	cr_expect(swapglob_list_match(list, "/srv/m/tiny.gguf"));
	cr_expect(swapglob_list_match(list, "/srv/m/w.onnx.data"));
	cr_expect_not(swapglob_list_match(list, "/srv/m/w.bin"));
	cr_expect(swapglob_list_match("/srv/*/w.bin", "/srv/m/w.bin"));
	cr_expect(swapglob_list_match("w.bin", "/srv/m/w.bin"));
	cr_expect_not(swapglob_list_match("m/w.bin", "/srv/m/w.bin"));
	cr_expect_not(swapglob_list_match("", "/srv/m/w.bin"));
	cr_expect(swapglob_list_match("::*.bin:", "/x.bin"));
}
