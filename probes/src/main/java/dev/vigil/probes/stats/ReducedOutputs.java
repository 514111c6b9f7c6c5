package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The names and layouts of the per-request vectors that the in-graph reductions output, shared by the graph builder
 * ({@code dev.vigil.probes.reduce.ReductionGraph}) and {@link ModelProbe#observeReduced}. With {@code x} a site tensor
 * viewed as {@code [B, R, W]} (R = T token rows or 1 row per sequence) and masked rows left out:
 * <ul>
 *     <li>per tensor of a row site: {@link #SHAPE} (the tensor's dims), {@link #MOMENTS} ({@link #MOMENTS_LENGTH}
 *     sums, see the index constants), {@link #CHANNEL_MIN} and {@link #CHANNEL_MAX} {@code [W]}, {@link #HISTOGRAM}
 *     (counts of {@code |x|} per {@link #HISTOGRAM_BUCKETS} bucket: exponent and top 7 mantissa bits over
 *     {@code [2^MIN_EXPONENT, 2^MAX_EXPONENT)}, then an underflow and an overflow bucket);</li>
 *     <li>{@code mlp}: {@link #ABS_SUM} {@code [W]};</li>
 *     <li>{@code residual}: {@link #MASSIVE} {@code [B,3]} (max {@code |h|}, the two middle values of the sorted
 *     {@code |h|}), {@link #HITS} and {@link #FIRST_HIT} {@code [B,W]} (massive elements per channel, the first row
 *     holding one), {@link #COSINE} {@code [B,3]} (rows of nonzero norm, {@code Σ‖u_i‖²}, {@code ‖Σu_i‖²});</li>
 *     <li>{@code attention} ({@code [B,H,Tq,Tk]}): {@link #SHAPE}, {@link #SINK} {@code [B,H,Tq]} (p at the first
 *     unmasked key), {@link #PLOGP} {@code [B,H,Tq]} ({@code Σ p ln p} over unmasked keys), {@link #LAST_KEY}
 *     {@code [B,H,Tq]} (1 + the last unmasked key with {@code p != 0}, 0 for none), {@link #KEY_MASS}
 *     {@code [B,H,Tk]} (Σ p over unmasked queries).</li>
 * </ul>
 */
public final class ReducedOutputs {
    public static final String SHAPE = "shape";
    public static final String MOMENTS = "moments";
    public static final String CHANNEL_MIN = "channel_min";
    public static final String CHANNEL_MAX = "channel_max";
    public static final String HISTOGRAM = "abs_histogram";
    public static final String ABS_SUM = "channel_abs_sum";
    public static final String MASSIVE = "massive";
    public static final String HITS = "massive_hits";
    public static final String FIRST_HIT = "massive_first_hit";
    public static final String COSINE = "cosine";
    public static final String SINK = "sink";
    public static final String PLOGP = "plogp";
    public static final String LAST_KEY = "last_key";
    public static final String KEY_MASS = "key_mass";

    /** {@link #MOMENTS}[0]: the shift k, the mean of the request's real values. */
    public static final int SHIFT = 0;
    /** {@link #MOMENTS}[1..4]: Σ(x−k), Σ(x−k)², Σ(x−k)³, Σ(x−k)⁴ over real values. */
    public static final int CENTERED = 1;
    /**
     * {@link #MOMENTS}[5..10]: over real finite values, Σmax(x,0), Σmax(−x,0), Σx², Σmax(x,0)³, Σmax(−x,0)³, Σx⁴.
     */
    public static final int RAW = 5;
    /** {@link #MOMENTS}[11]: real values that are not finite. */
    public static final int NON_FINITE = 11;
    public static final int MOMENTS_LENGTH = 12;

    public static final int MIN_EXPONENT = -32;
    public static final int MAX_EXPONENT = 32;
    public static final int SUB_BUCKETS = 128;
    /** Histogram bucket of finite {@code |x| < 2^MIN_EXPONENT} (zero included). */
    public static final int UNDERFLOW = (MAX_EXPONENT - MIN_EXPONENT) * SUB_BUCKETS;
    /** Histogram bucket of finite {@code |x| >= 2^MAX_EXPONENT}. */
    public static final int OVERFLOW = UNDERFLOW + 1;
    public static final int HISTOGRAM_BUCKETS = OVERFLOW + 1;

    private static final String PREFIX = "vigil.reduce:";

    private ReducedOutputs() {
    }

    /** The output name of {@code what} for site tensor {@code tensor}. */
    public static String name(String tensor, String what) {
        return PREFIX + tensor + ":" + what;
    }

    /** Every reduction output of {@code sites}, in site order, each once. */
    public static List<String> of(List<ProbeSite> sites) {
        Set<String> names = new LinkedHashSet<>();
        for (ProbeSite s : sites) {
            for (String what : of(s.kind())) {
                names.add(name(s.tensor(), what));
            }
        }
        return new ArrayList<>(names);
    }

    /** The outputs a site of {@code kind} has. */
    static List<String> of(SiteKind kind) {
        List<String> quant = List.of(SHAPE, MOMENTS, CHANNEL_MIN, CHANNEL_MAX, HISTOGRAM);
        List<String> out = new ArrayList<>();
        switch (kind) {
            case ATTENTION -> out.addAll(List.of(SHAPE, SINK, PLOGP, LAST_KEY, KEY_MASS));
            case MLP -> {
                out.addAll(quant);
                out.add(ABS_SUM);
            }
            case RESIDUAL -> {
                out.addAll(quant);
                out.addAll(List.of(MASSIVE, HITS, FIRST_HIT, COSINE));
            }
            default -> out.addAll(quant);
        }
        return out;
    }

    /** The {@link AbsHistogram} bucket of histogram bucket {@code b}: the same exponent and mantissa slice. */
    static int hostBucket(int b) {
        if (b == UNDERFLOW) {
            return 0;
        }
        int local = b == OVERFLOW ? UNDERFLOW : b;
        int exponent = local / SUB_BUCKETS + MIN_EXPONENT;
        return ((exponent + 127) << 7) | (local % SUB_BUCKETS);
    }
}
