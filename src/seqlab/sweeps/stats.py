"""Summary statistics of replicate runs: mean, standard deviation and a confidence interval
of the mean that stays inside the values the metric can take.

- Unbounded metrics: Student's t interval, mean ± t(1 - (1 - level) / 2, n - 1) · s / √n.
- Positive metrics (errors, losses: `seqlab.names.metric_range`), all values above 0: Cox's
  interval for the mean of log-normal data (Land 1972; Zhou and Gao 1997), from the logs'
  mean m and variance v: exp(m + v/2 ± t · √(v/n + v²/(2(n - 1)))). It is never negative,
  and it is wide upwards where one seed's error is far above the others', which is where
  the t interval went below zero: seeds' errors are skewed that way.
  Where the values are far from log-normal (one far below the rest) Cox's interval can
  miss the mean itself; the t interval cut at 0 is given then.
- Shares (accuracies), and positive metrics with a value at 0 (no log): the t interval cut
  at the range's ends. Cutting keeps the interval's coverage, since the true mean lies in
  the range.

Plain Python (no numpy, no scipy), so the sweep report stays quick to start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

UNBOUNDED = (-math.inf, math.inf)


@dataclass(frozen=True)
class Summary:
    """n finite values: their mean, sample standard deviation (n - 1) and the two-sided
    confidence interval of the mean at `level` (the module docstring says which). With
    fewer than two values std and the interval are NaN."""

    n: int
    mean: float
    std: float
    low: float
    high: float

    def overlaps(self, other: Summary) -> bool:
        """Whether the two intervals share a point (False when either has none)."""
        if math.isnan(self.low) or math.isnan(other.low):
            return False
        return self.low <= other.high and other.low <= self.high


def summarise(
    values: Sequence[float], level: float = 0.95, bounds: tuple[float, float] = UNBOUNDED
) -> Summary:
    """The Summary of the finite values among `values`; `bounds` is the metric's range
    (seqlab.names.metric_range), inside which the interval stays."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    n = len(finite)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = math.fsum(finite) / n
    if n < 2:
        return Summary(n, mean, math.nan, math.nan, math.nan)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in finite) / (n - 1))
    t = t_quantile(1 - (1 - level) / 2, n - 1)
    lowest, highest = bounds
    half = t * std / math.sqrt(n)
    low, high = max(mean - half, lowest), min(mean + half, highest)
    if lowest == 0 and highest == math.inf and min(finite) > 0:
        cox = _log_normal_interval(finite, t)
        if cox[0] <= mean <= cox[1]:  # else the values are far from log-normal: t, cut
            low, high = cox
    return Summary(n, mean, std, low, high)


def interval_kind(bounds: tuple[float, float]) -> str:
    """Which interval `summarise` gives a metric of this range, in a few words, for the
    report's legend."""
    lowest, highest = bounds
    if lowest == 0 and highest == math.inf:
        return "log-normal (Cox), for a positive metric"
    if bounds != UNBOUNDED:
        return f"Student t, cut to [{lowest:g}, {highest:g}]"
    return "Student t"


def _log_normal_interval(values: list[float], t: float) -> tuple[float, float]:
    """Cox's interval for the mean of positive values, from their logs (module docstring)."""
    n = len(values)
    logs = [math.log(v) for v in values]
    m = math.fsum(logs) / n
    v = math.fsum((x - m) ** 2 for x in logs) / (n - 1)
    centre, half = m + v / 2, t * math.sqrt(v / n + v * v / (2 * (n - 1)))
    # (exp overflows past about 709: an interval that wide has no upper end worth a number)
    return math.exp(min(centre - half, 709.0)), math.exp(min(centre + half, 709.0))


def t_quantile(p: float, df: int) -> float:
    """The p-quantile (0.5 <= p < 1) of Student's t distribution with `df` degrees of
    freedom, found by bisection on its distribution function."""
    if not 0.5 <= p < 1 or df < 1:
        raise ValueError(f"t_quantile needs 0.5 <= p < 1 and df >= 1 (got p={p}, df={df})")
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if t_cdf(mid, df) < p else (low, mid)
    return (low + high) / 2


def t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * _incomplete_beta(df / 2, 0.5, x)  # P(T > |t|)
    return 1 - tail if t >= 0 else tail


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast on this side only
        return 1 - _incomplete_beta(b, a, 1 - x)
    return math.exp(log_front) * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the incomplete beta function's continued fraction."""
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return result
