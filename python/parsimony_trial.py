"""Talk to `parsimony tune` from a Python trial program. No dependencies; copy it anywhere.

parsimony tune runs your program once per trial. The parameters arrive as {name} placeholders in
the command line and as JSON in the environment variable PARSIMONY_PARAMS (see params()). Your
program answers on stdout with lines starting with "parsimony:"; every other line is ordinary
output, kept in the trial's log:

    parsimony:report <step> <value>[,<value>...]   intermediate value(s) at an integer step >= 0;
                                                   the pruner may stop the trial here (SIGTERM)
    parsimony:result <value>[,<value>...]          final objective value(s), one per direction
    parsimony:attr <key> <json>                    a user attribute of the trial

A program that exits with code 0 without a result line fails the trial ("no result line").
"""
import json
import math
import numbers
import os
import sys


def params():
    """The trial's parameters as a dict ({} when not run by parsimony tune)."""
    return json.loads(os.environ.get("PARSIMONY_PARAMS", "{}"))


def trial_number():
    """The trial number, or None when not run by parsimony tune."""
    n = os.environ.get("PARSIMONY_TRIAL_NUMBER")
    return None if n is None else int(n)


def _numbers(value, what):
    values = value if isinstance(value, (list, tuple)) else [value]
    if len(values) == 0:
        raise ValueError("%s: expected a number or a non-empty list of numbers" % what)
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError("%s: expected a number, got %r" % (what, v))
        out.append(float(v))
    return out


def _format(values):
    return ",".join(repr(v) for v in values)


def _step(step):
    """An integer step >= 0; 1.7 is refused rather than cut to 1 (2.0 is accepted as 2)."""
    integral = isinstance(step, numbers.Integral) or (
        isinstance(step, numbers.Real) and math.isfinite(step) and float(step).is_integer()
    )
    if isinstance(step, bool) or not integral or step < 0:
        raise ValueError("report: step must be an integer >= 0, got %r" % (step,))
    return int(step)


def _send(line):
    sys.stdout.write("parsimony:" + line + "\n")
    sys.stdout.flush()  # the runner must see reports now, not when the buffer fills


def report(step, value):
    """Reports an intermediate value (or one per objective) at integer step >= 0."""
    _send("report %d %s" % (_step(step), _format(_numbers(value, "report"))))


def result(value):
    """Reports the final objective value (or a list, one per direction). Call it once.

    NaN is refused (ValueError) here, where the traceback points at the cause; infinities pass.
    """
    values = _numbers(value, "result")
    if any(math.isnan(v) for v in values):
        raise ValueError("result: the value is NaN: %r" % (value,))
    _send("result " + _format(values))


def attr(key, value):
    """Stores a JSON-serialisable value as a user attribute of the trial."""
    if not key or any(c.isspace() for c in key):
        raise ValueError("attr key must be non-empty without whitespace: %r" % (key,))
    _send("attr %s %s" % (key, json.dumps(value, separators=(",", ":"), allow_nan=False)))
