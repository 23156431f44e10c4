"""set_verbose() and rel.util.log(): where the log lines go."""

import rel
import rel.util
from _difftrace import attempt, out

attempt("log_quiet", rel.util.log, "not shown")
attempt("log_keyword", rel.util.log, text="by keyword, not shown")
attempt("set_verbose", rel.set_verbose, True)
out("verbose_flag", bool(rel.util.verbose))
attempt("log_verbose", rel.util.log, "shown")
attempt("set_verbose_keyword", rel.set_verbose, isverb=False)
out("verbose_flag_off", bool(rel.util.verbose))
attempt("log_off", rel.util.log, "not shown again")


class Named(rel.util.Basic):
    subname = "sub"


rel.set_verbose(True)
attempt("basic_log", Named().log, "a", 1)
rel.set_verbose(False)
