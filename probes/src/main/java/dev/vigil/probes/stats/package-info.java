/**
 * Probe statistics over tapped float tensors (SPEC §3 "Masking", §4 "Windows", §5): {@link
 * dev.vigil.probes.stats.ModelProbe} keeps one model's windows; the records it returns carry every metric's value.
 *
 * <p>Choices where SPEC is silent (the server and dashboards rely on them):
 * <ul>
 *   <li>Layout: for {@code mlp}/{@code residual}/{@code matmul_input}, the channel axis is the last; leading dims
 *       multiplying to B·T are token rows (masked), to B one row per sequence (never masked); anything else is an
 *       IllegalArgumentException naming the tensor. Attention is {@code [B,H,Tq,Tk]} or {@code [B*H,Tq,Tk]}; the mask
 *       applies to the query axis when {@code Tq == T} and to the key axis when {@code Tk == T}; with {@code Tq < Tk}
 *       (a KV cache) query {@code i} is at key position {@code i + Tk − Tq}.</li>
 *   <li>A sequence whose mask is all 0 contributes nothing. Undefined values are NaN: a statistic without data, the
 *       first-token fraction without a massive element, a kurtosis with zero variance, an entropy without a query
 *       that sees two keys. Infinities: the massive ratio of a sequence whose median is 0 but max is not (+Inf), the
 *       SQNR of an exact quantization (+Inf). Jackson writes these as the strings "NaN"/"Infinity".</li>
 *   <li>Dormant neurons: when every activation of the window is 0 the τ-dormant scores are 0/0; every channel then
 *       counts as dormant. Token cosine: rows that are all 0 have no direction and are left out.</li>
 *   <li>Massive channel series: the first 16 distinct channels ever hit (scan order: request, sequence, position,
 *       channel) keep their own series for the life of the probe; the rest add to "other".</li>
 *   <li>Max key mass: the mean for key position k is over the unmasked queries of the sequences that have a k-th
 *       unmasked key (a short sequence does not dilute a later position with zeros).</li>
 *   <li>Windows: gauges come from the last closed window, or the open one until the first closes; counters are
 *       cumulative. Quant statistics of one tensor that is two sites (mlp and matmul_input) are computed once.</li>
 *   <li>Estimates: percentiles from a 0.78%-wide log histogram (error &lt; 0.78%); int8 SQNR noise from the same
 *       histogram, integrating the squared quantization error over each bucket (within 1 dB in tests); entropy with a
 *       polynomial log (1e-5 absolute). Medians, min/max, means, moments and cosines are exact (double sums).</li>
 * </ul>
 */
package dev.vigil.probes.stats;
