package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The {@code |x|} of one sequence's real rows, read once from the tap into {@link #values}, with their max and exact
 * median: the massive-activation statistic's per-sequence work. With the {@code jdk.incubator.vector} module
 * ({@link VectorAbsMedian}) the median comes from branch-free SIMD passes that count the values below
 * {@value #PIVOTS} pivots, each pass narrowing the bracket around the middle ranks, until it holds at most
 * {@value #GATHERED} values; only those are gathered for a selection. The first pivots sit around the site's last
 * median (a layer's sequences have medians within a few percent), counted in the same pass that takes {@code |x|}
 * and the max while each block of rows is still in the L1 cache from its copy; the next ones are evenly spaced in the
 * bracket's bits. Without a last median, or when it missed, a sample of {@value #SAMPLE} values gives the pivots.
 * The radix count of {@link Selection}, a dependent table update per value, is the path without the module and the
 * fallback for a bracket still holding more than a quarter of the values: the median is exact either way. Holds its
 * scratch arrays and the hint; used by one thread.
 */
final class AbsMedian {
    /** Whether the passes run in SIMD lanes. */
    static final boolean VECTORIZED = RowEntropy.VECTORIZED;
    /** Pivots per counting pass (the SIMD pass keeps one counter vector each). */
    static final int PIVOTS = 7;
    /** Sampled values; the pivots span ±3 standard deviations of the sample median's rank. */
    private static final int SAMPLE = 256;
    /** Below this many values the radix count costs about what sampling does. */
    private static final int MIN_SAMPLED = 4 * SAMPLE;
    /** Pivot window half-width in sample ranks: 3σ of a sample median's rank, σ = √SAMPLE / 2. */
    private static final int HALF_WINDOW = (int) Math.ceil(1.5 * Math.sqrt(SAMPLE));
    /** Floats copied from the tap before a SIMD pass over them: 16 KiB, half the L1 data cache. */
    private static final int BLOCK_FLOATS = 4096;
    private static final int NO_SIGN = 0x7fffffff;
    /** Counting passes stop once the middle ranks' bracket holds at most this many values, */
    private static final int GATHERED = 256;
    /** or after this many passes. */
    private static final int MAX_PASSES = 4;
    /** Bits between the pivots around a hint: 1/32 of an octave, about 2.2% of the value. */
    private static final int HINT_STEP = 1 << 18;
    /** Calls of the passes on a few vectors after which the JIT has compiled them. */
    private static final int WARM_UP_CALLS = 10_000;

    /** {@code |x|} of the last {@link #compute}'s rows, row after row. */
    float[] values = new float[0];
    /** The largest {@code |x|} of the last {@link #compute}; NaN when a value was NaN. */
    float max;
    /** The exact median of {@code |x|} of the last {@link #compute} (mean of the middle two); NaN with a NaN value. */
    double median;

    static {
        if (VECTORIZED) {
            warmUp();
        }
    }

    private float[] aux = new float[0];
    private final int[] radixCounts = new int[Selection.RADIX_BUCKETS];
    private final float[] sample = new float[SAMPLE];
    private final int[] pivots = new int[PIVOTS];
    private final int[] below = new int[PIVOTS];
    /** Bits of the last sampled median, 0 before one: the median of the site's next sequence is close to it. */
    private int hint;

    /** Compiles the SIMD passes now (class initialization) if they were not yet: call where a delay is harmless. */
    static void prepare() {
        // the static initializer did the work
    }

    /**
     * Interpreted, the SIMD passes allocate an object per vector operation, and the first requests' sequences would
     * cost tens of milliseconds each until the JIT compiles them; so they are compiled here, on a small array, when the
     * first residual site is set up (at model load), and checked on a known array.
     */
    private static void warmUp() {
        int n = 16;
        float[] a = new float[n];
        float[] out = new float[n];
        int[] pivots = new int[PIVOTS];
        int[] below = new int[PIVOTS];
        for (int k = 0; k < PIVOTS; k++) {
            pivots[k] = Float.floatToRawIntBits((k + 1) / (PIVOTS + 1f));
        }
        int gathered = 0;
        for (int call = 0; call < WARM_UP_CALLS; call++) {
            for (int k = 0; k < n; k++) {
                a[k] = ((k + call) % n) / (float) -n;
            }
            VectorAbsMedian.pass(a, 0, n, true, pivots, below);
            Arrays.fill(below, 0);
            VectorAbsMedian.pass(a, 0, n, false, pivots, below);
            gathered = VectorAbsMedian.gather(a, n, pivots[2], pivots[3] - 1, out);
        }
        // 0, 1/16, ..., 15/16: 2 below each (k+1)/8, 2 in [3/8, 4/8)
        if (below[2] != 6 || below[3] != 8 || gathered != 2) {
            throw new IllegalStateException("SIMD median passes self-check failed: " + Arrays.toString(below) + ", "
                    + gathered + " gathered");
        }
    }

    /**
     * Reads the {@code rows} rows of {@code w} floats at {@code data} offsets {@code offsets[0..rows)} into
     * {@link #values} as {@code |x|} and sets {@link #max} and {@link #median}; {@code rows · w > 0}.
     */
    void compute(FloatBuffer data, int[] offsets, int rows, int w) {
        compute(data, offsets, rows, w, null);
    }

    /**
     * {@link #compute(FloatBuffer, int[], int, int)} that also hands the rows, as read and before {@code |x|}
     * replaces them, to {@code cosine} (when not null): one read of the tap for both statistics.
     */
    void compute(FloatBuffer data, int[] offsets, int rows, int w, TokenCosineStat cosine) {
        int n = rows * w;
        if (n <= 0) {
            throw new IllegalArgumentException("median of no values");
        }
        if (values.length < n) {
            values = new float[n];
            aux = new float[n];
        }
        float[] a = values;
        if (!VECTORIZED) {
            for (int r = 0; r < rows; r++) {
                data.get(offsets[r], a, r * w, w);
            }
            if (cosine != null) {
                cosine.addRows(a, 0, rows);
            }
            scalar(a, n);
            return;
        }
        // with the last median of this site as a hint, the first counting pass runs with the |x| pass
        boolean hinted = hint > 0 && n >= MIN_SAMPLED;
        if (hinted) {
            for (int k = 0; k < PIVOTS; k++) {
                pivots[k] = Math.max(0, hint + (k - PIVOTS / 2) * HINT_STEP);
            }
        }
        Arrays.fill(below, 0);
        int maxBits = 0;
        int done = 0;
        for (int r = 0; r < rows; r++) {
            data.get(offsets[r], a, r * w, w);
            int end = (r + 1) * w;
            if (end - done >= BLOCK_FLOATS || r == rows - 1) {
                if (cosine != null) {
                    cosine.addRows(a, done, (end - done) / w);
                }
                maxBits = Math.max(maxBits, VectorAbsMedian.pass(a, done, end, true, pivots, below));
                done = end;
            }
        }
        max = Float.intBitsToFloat(maxBits);
        if (Float.isNaN(max)) {
            median = Double.NaN;
        } else if (max == 0f) {
            median = 0;
        } else if (n < MIN_SAMPLED) {
            median = Selection.medianOfNonNegative(a, n, aux, radixCounts);
        } else {
            median = sampled(a, n, hinted);
            hint = Float.floatToRawIntBits((float) median);
        }
    }

    /** The path without the module: one pass for {@code |x|}, the max and the radix counts, then the selection. */
    private void scalar(float[] a, int n) {
        int[] counts = radixCounts;
        Arrays.fill(counts, 0);
        float m = 0f;
        for (int j = 0; j < n; j++) {
            float v = Math.abs(a[j]);
            a[j] = v;
            m = Math.max(m, v);
            counts[Selection.bucket(v)]++;
        }
        max = m;
        median = Float.isNaN(m) ? Double.NaN : Selection.medianOfCounted(a, n, aux, counts);
    }

    /**
     * The median of the non-negative, NaN-free {@code a[0..n)}; {@code counted}: {@link #below} holds the counts below
     * the {@link #pivots} from the hint.
     */
    private double sampled(float[] a, int n, boolean counted) {
        int lowRank = (n - 1) / 2;
        int highRank = n / 2;
        boolean sampled = !counted;
        if (sampled) {
            samplePivots(a, n);
        }
        // the middle ranks lie in the bits [low, high], holding the values of ranks [before, through)
        int low = 0;
        int high = NO_SIGN;
        int before = 0;
        int through = n;
        for (int pass = 0; ; pass++) {
            if (!counted) {
                Arrays.fill(below, 0);
                VectorAbsMedian.pass(a, 0, n, false, pivots, below);
            }
            counted = false;
            int i = -1;
            while (i + 1 < PIVOTS && below[i + 1] <= lowRank) {
                i++;
            }
            int j = i + 1;
            while (j < PIVOTS && below[j] <= highRank) {
                j++;
            }
            // only tighten: sample pivots after a missed hint may lie outside the bracket
            if (i >= 0 && pivots[i] > low) {
                low = pivots[i];
                before = below[i];
            }
            if (j < PIVOTS && pivots[j] - 1 < high) {
                high = pivots[j] - 1;
                through = below[j];
            }
            if (through - before <= GATHERED || high - low <= PIVOTS || pass + 1 == MAX_PASSES) {
                break;
            }
            if (!sampled && (i < 0 || j == PIVOTS)) {
                // the hint missed: this sequence's sample finds the middle
                samplePivots(a, n);
                sampled = true;
            } else {
                // evenly spaced in the bits: within a narrow range they are close to evenly spaced values
                for (int k = 0; k < PIVOTS; k++) {
                    pivots[k] = (int) (low + (k + 1) * ((long) high - low + 1) / (PIVOTS + 1));
                }
            }
        }
        if (through - before > n / 4) {
            return Selection.medianOfNonNegative(a, n, aux, radixCounts);
        }
        int m = VectorAbsMedian.gather(a, n, low, high, aux);
        return Selection.middleOf(aux, m, lowRank - before, highRank - before);
    }

    /** Pivots (bits of {@code |x|}, ascending) at evenly spaced ranks within ±3σ of a sample's median. */
    private void samplePivots(float[] a, int n) {
        float[] s = sample;
        // Weyl sequence positions: spread over rows and channels alike, never locked to the row width
        for (int k = 0; k < SAMPLE; k++) {
            s[k] = a[(int) ((((k + 1) * 0x9E3779B9L) & 0xffffffffL) * n >>> 32)];
        }
        int from = SAMPLE / 2 - HALF_WINDOW;
        int to = SAMPLE / 2 + HALF_WINDOW;
        Selection.select(s, 0, SAMPLE, from);
        Selection.select(s, from + 1, SAMPLE, to);
        Arrays.sort(s, from + 1, to);
        for (int k = 0; k < PIVOTS; k++) {
            pivots[k] = Float.floatToRawIntBits(s[from + k * (to - from) / (PIVOTS - 1)]);
        }
    }
}
