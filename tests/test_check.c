/* test_check.c: preload/check.h: in the test build a broken invariant stops the process
 * with SIGABRT, naming its file, line and condition; a kept one costs nothing. */
#define AG_CHECKS 1
#include "check.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>

/* Its one line goes to a captured stderr, not into the suite's output. */
Test(check, a_broken_invariant_aborts, .signal = SIGABRT, .init = cr_redirect_stderr)
{
	volatile int two = 2;
	AG_ASSERT(two + two == 4);
	AG_ASSERT(two + two == 5);
}

Test(check, a_kept_invariant_goes_on)
{
	volatile int two = 2;
	AG_ASSERT(two * two == 4);
	cr_assert(AG_CHECKING);
}
