#include "exports.h"
int plot_svg(const ag_log_t *log, symbols_t *sym, FILE *out) { return 0; }
int plot_html(const ag_log_t *log, symbols_t *sym, FILE *out) { return 0; }
