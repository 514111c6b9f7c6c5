package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Attention sink score, entropy and max key mass of an {@code attention} site (SPEC §5), one pass over
 * {@code [B,H,Tq,Tk]} or {@code [B*H,Tq,Tk]} probabilities. Query rows and key columns with mask 0 are left out (the
 * mask applies to an axis whose length is the request's T; with a KV cache, {@code Tq < Tk}, query {@code i} sits at
 * key position {@code i + Tk − Tq}). The same query loop keeps the per-head cumulative counters of SPEC §6
 * ({@link AttentionCounters}), never reset. Each probability is read once, by {@link RowEntropy} (entropy and key
 * mass together); rows are copied from the tap in blocks. Used by one thread.
 */
final class AttentionStat {
    /** Floats per bulk read of query rows (at least one row): 32 KiB, so a block stays in the L1/L2 cache. */
    private static final int BLOCK_FLOATS = 8192;
    /** Rows whose key mass is summed in float before it goes into the double sums (float error ~ rows · 6e-8). */
    private static final int MASS_FLUSH_ROWS = 64;
    private final double sinkEpsilon;
    private int heads;
    private double[] sink = new double[0];
    private double[] entropy = new double[0];
    private long[] entropyQueries = new long[0];
    /** Per head, Σ p over queries for the k-th unmasked key: {@code keyMass[h * keyCapacity + k]}. */
    private double[] keyMass = new double[0];
    /** Unmasked queries of sequences that have a k-th unmasked key. */
    private long[] keyQueries = new long[0];
    private int keyCapacity;
    private long queries;
    private double[] sinkMassTotal = new double[0];
    private long[] queriesTotal = new long[0];
    private double[] entropySumTotal = new double[0];
    private long[] entropyQueriesTotal = new long[0];
    private long nonFiniteQueries;

    /** Consecutive query rows of one head, read from the tap in one bulk copy. */
    private float[] block = new float[0];
    /** The unmasked keys of one row, gathered when they are not one run. */
    private float[] row = new float[0];
    /** Per unmasked key, Σ p over the head's rows since the last {@link #flushMass}. */
    private float[] rowMass = new float[0];
    private int[] keys = new int[0];
    /** {@code visible[k]}: unmasked keys at positions {@code <= k}. */
    private int[] visible = new int[0];
    private int[] queryRows = new int[0];
    /** {@code 1 / ln(n)} for n keys, grown on demand. */
    private float[] invLog = new float[0];

    /** @param heads the site's head count when the graph declares it (its counters then exist from the start), else 0 */
    AttentionStat(double sinkEpsilon, int heads) {
        RowEntropy.prepare();
        this.sinkEpsilon = sinkEpsilon;
        if (heads > 0) {
            allocateHeads(heads);
        }
    }

    /** The tensor's layout; IllegalArgumentException naming the tensor when it is not attention probabilities. */
    static AttentionLayout layout(String name, TapTensor t, ProbedBatch request) {
        int n = t.elements();
        if (t.data().capacity() < n) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(t.shape())
                    + " needs " + n + " floats, its buffer holds " + t.data().capacity());
        }
        int h;
        if (t.rank() == 4 && t.dim(0) == request.batch()) {
            h = (int) t.dim(1);
        } else if (t.rank() == 3 && t.dim(0) % request.batch() == 0) {
            h = (int) (t.dim(0) / request.batch());
        } else {
            throw new IllegalArgumentException("attention tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + "; expected [B,H,Tq,Tk] or [B*H,Tq,Tk] with B=" + request.batch());
        }
        return new AttentionLayout(h, (int) t.dim(t.rank() - 2), (int) t.dim(t.rank() - 1));
    }

    void observe(TapTensor t, AttentionLayout shape, ProbedBatch request) {
        int h = shape.heads();
        int tq = shape.queries();
        int tk = shape.keys();
        ensureCapacity(h, tk, tq);
        boolean maskQueries = request.mask() != null && tq == request.tokens();
        boolean maskKeys = request.mask() != null && tk == request.tokens();
        int offset = tk - tq;
        int rowsPerBlock = Math.max(1, BLOCK_FLOATS / Math.max(1, tk));
        FloatBuffer data = t.data();
        for (int b = 0; b < request.batch(); b++) {
            int nk = compactKeys(request, b, tk, maskKeys);
            int nq = compactQueries(request, b, tq, maskQueries);
            if (nk == 0 || nq == 0) {
                continue;
            }
            // unmasked keys in one run (no padding, or padding on one side) are read in place, others gathered
            boolean contiguous = keys[nk - 1] - keys[0] + 1 == nk;
            int k0 = keys[0];
            for (int head = 0; head < h; head++) {
                int base = (b * h + head) * tq;
                Arrays.fill(rowMass, 0, nk, 0f);
                int blockStart = 0;
                int blockEnd = 0;
                // a local that does not escape: the JIT keeps its sums in registers across the query loop
                HeadSums sums = new HeadSums();
                for (int qi = 0; qi < nq; qi++) {
                    int i = queryRows[qi];
                    if (i >= blockEnd) {
                        blockStart = i;
                        blockEnd = Math.min(tq, i + rowsPerBlock);
                        data.get((base + blockStart) * tk, block, 0, (blockEnd - blockStart) * tk);
                    }
                    int from = (i - blockStart) * tk;
                    float p0 = block[from + k0];
                    float plogp;
                    if (contiguous) {
                        plogp = RowEntropy.plogp(block, from + k0, nk, rowMass);
                    } else {
                        for (int m = 0; m < nk; m++) {
                            row[m] = block[from + keys[m]];
                        }
                        plogp = RowEntropy.plogp(row, 0, nk, rowMass);
                    }
                    if ((qi & (MASS_FLUSH_ROWS - 1)) == MASS_FLUSH_ROWS - 1) {
                        flushMass(head, nk);
                    }
                    int position = i + offset;
                    int nVisible = nk;
                    if (position < tk - 1 && laterKeysZero(block, from, position, nk)) {
                        nVisible = position >= 0 ? visible[position] : 0;
                    }
                    sums.addQuery(p0, plogp, nVisible, invLog);
                }
                flushMass(head, nk);
                addHead(head, sums);
            }
            queries += nq;
            for (int k = 0; k < nk; k++) {
                keyQueries[k] += nq;
            }
        }
    }

    /** Adds one head's sums over a sequence's queries to the window and the counters. */
    private void addHead(int head, HeadSums sums) {
        sink[head] += sums.sink;
        entropy[head] += sums.entropy;
        entropyQueries[head] += sums.entropyQueries;
        sinkMassTotal[head] += sums.finiteSink;
        queriesTotal[head] += sums.finiteQueries;
        entropySumTotal[head] += sums.finiteEntropy;
        entropyQueriesTotal[head] += sums.finiteEntropyQueries;
        nonFiniteQueries += sums.nonFinite;
    }

    /** Adds the float key masses of the rows since the last flush to the head's double sums, and clears them. */
    private void flushMass(int head, int nk) {
        double[] mass = keyMass;
        float[] part = rowMass;
        int massBase = head * keyCapacity;
        for (int m = 0; m < nk; m++) {
            mass[massBase + m] += part[m];
            part[m] = 0f;
        }
    }

    /**
     * Whether every unmasked key after {@code position} has probability 0 (a causal row): the row's unmasked keys
     * ({@link #keys}, {@code nk} of them) from the last, so that padding after the real tokens is not scanned on every
     * row, and a row that is not causal stops at its last key.
     */
    private boolean laterKeysZero(float[] r, int from, int position, int nk) {
        for (int m = nk - 1; m >= 0 && keys[m] > position; m--) {
            if (r[from + keys[m]] != 0f) {
                return false;
            }
        }
        return true;
    }

    private void ensureCapacity(int h, int tk, int tq) {
        if (heads == 0) {
            allocateHeads(h);
        } else if (heads != h) {
            throw new IllegalArgumentException("attention site head count changed from " + heads + " to " + h);
        }
        if (tk > keyCapacity) {
            int capacity = Math.max(tk, keyCapacity * 2);
            double[] grown = new double[h * capacity];
            for (int head = 0; head < h; head++) {
                System.arraycopy(keyMass, head * keyCapacity, grown, head * capacity, keyCapacity);
            }
            keyMass = grown;
            keyQueries = Arrays.copyOf(keyQueries, capacity);
            keyCapacity = capacity;
            row = new float[capacity];
            rowMass = new float[capacity];
            block = new float[Math.max(capacity, BLOCK_FLOATS)];
            keys = new int[capacity];
            visible = new int[capacity];
            invLog = new float[capacity + 1];
            for (int n = 2; n <= capacity; n++) {
                invLog[n] = (float) (1.0 / Math.log(n));
            }
        }
        if (tq > queryRows.length) {
            queryRows = new int[tq];
        }
    }

    private void allocateHeads(int h) {
        heads = h;
        sink = new double[h];
        entropy = new double[h];
        entropyQueries = new long[h];
        sinkMassTotal = new double[h];
        queriesTotal = new long[h];
        entropySumTotal = new double[h];
        entropyQueriesTotal = new long[h];
    }

    /** The per-head counters since start; empty lists while the head count is unknown (no request seen yet). */
    AttentionCounters counters() {
        List<Double> mass = new ArrayList<>(heads);
        List<Long> q = new ArrayList<>(heads);
        List<Double> ent = new ArrayList<>(heads);
        List<Long> eq = new ArrayList<>(heads);
        for (int h = 0; h < heads; h++) {
            mass.add(sinkMassTotal[h]);
            q.add(queriesTotal[h]);
            ent.add(entropySumTotal[h]);
            eq.add(entropyQueriesTotal[h]);
        }
        return new AttentionCounters(mass, q, ent, eq, nonFiniteQueries);
    }

    AttentionSnapshot snapshot() {
        List<Double> sinkScores = new ArrayList<>(heads);
        List<Double> entropies = new ArrayList<>(heads);
        int sinkHeads = 0;
        for (int head = 0; head < heads; head++) {
            double s = queries == 0 ? Double.NaN : sink[head] / queries;
            sinkScores.add(s);
            if (s > sinkEpsilon) {
                sinkHeads++;
            }
            entropies.add(entropyQueries[head] == 0 ? Double.NaN : entropy[head] / entropyQueries[head]);
        }
        double maxMass = Double.NaN;
        int maxKey = -1;
        int maxHead = -1;
        for (int head = 0; head < heads; head++) {
            for (int k = 0; k < keyCapacity && keyQueries[k] > 0; k++) {
                double m = keyMass[head * keyCapacity + k] / keyQueries[k];
                if (maxKey < 0 || m > maxMass) {
                    maxMass = m;
                    maxKey = k;
                    maxHead = head;
                }
            }
        }
        double ratio = queries == 0 || heads == 0 ? Double.NaN : (double) sinkHeads / heads;
        return new AttentionSnapshot(heads, queries, List.copyOf(sinkScores), ratio, List.copyOf(entropies), maxMass,
                maxKey, maxHead);
    }

    void reset() {
        Arrays.fill(sink, 0.0);
        Arrays.fill(entropy, 0.0);
        Arrays.fill(entropyQueries, 0L);
        Arrays.fill(keyMass, 0.0);
        Arrays.fill(keyQueries, 0L);
        queries = 0;
    }

    /**
     * Adds one request reduced in the graph: per (sequence, head, query) the probability at the first unmasked key,
     * {@code Σ p ln p} over unmasked keys and 1 + the last unmasked key with {@code p != 0} (a causal row when it is
     * not after the query's position); per (sequence, head, key) Σ p over unmasked queries. The same masking, key
     * compaction and counters as {@link #observe}.
     */
    void observeReduced(ReducedAttention a, ReducedBatch request) {
        int h = a.heads();
        int tq = a.queries();
        int tk = a.keys();
        ensureCapacity(h, tk, tq);
        boolean maskQueries = request.mask() != null && tq == request.tokens();
        boolean maskKeys = request.mask() != null && tk == request.tokens();
        int offset = tk - tq;
        double[] sinkIn = a.sink();
        double[] plogpIn = a.plogp();
        double[] lastKey = a.lastKey();
        double[] massIn = a.keyMass();
        for (int b = 0; b < request.batch(); b++) {
            int nk = compactKeys(request, b, tk, maskKeys);
            int nq = compactQueries(request, b, tq, maskQueries);
            if (nk == 0 || nq == 0) {
                continue;
            }
            for (int head = 0; head < h; head++) {
                int base = (b * h + head) * tq;
                int massBase = head * keyCapacity;
                // a local that does not escape: the JIT keeps its sums in registers across the query loop
                HeadSums sums = new HeadSums();
                for (int qi = 0; qi < nq; qi++) {
                    int i = queryRows[qi];
                    float p0 = (float) sinkIn[base + i];
                    float plogp = (float) plogpIn[base + i];
                    int position = i + offset;
                    int nVisible = nk;
                    if (position < tk - 1 && lastKey[base + i] <= position + 1) {
                        nVisible = position >= 0 ? visible[position] : 0;
                    }
                    sums.addQuery(p0, plogp, nVisible, invLog);
                }
                int massRow = (b * h + head) * tk;
                for (int m = 0; m < nk; m++) {
                    keyMass[massBase + m] += massIn[massRow + keys[m]];
                }
                addHead(head, sums);
            }
            queries += nq;
            for (int k = 0; k < nk; k++) {
                keyQueries[k] += nq;
            }
        }
    }

    /**
     * Puts sequence {@code b}'s unmasked key positions in {@code keys} and, per key, how many of them come up to it
     * in {@code visible}; returns their count.
     */
    private int compactKeys(MaskedRequest request, int b, int tk, boolean maskKeys) {
        int nk = 0;
        for (int k = 0; k < tk; k++) {
            if (!maskKeys || request.real(b, k)) {
                keys[nk++] = k;
            }
            visible[k] = nk;
        }
        return nk;
    }

    /** Puts sequence {@code b}'s unmasked query rows in {@code queryRows}; returns their count. */
    private int compactQueries(MaskedRequest request, int b, int tq, boolean maskQueries) {
        int nq = 0;
        for (int i = 0; i < tq; i++) {
            if (!maskQueries || request.real(b, i)) {
                queryRows[nq++] = i;
            }
        }
        return nq;
    }

    /**
     * One head's sums over one sequence's queries, whichever way the per-query values arrive (read from the
     * probabilities or reduced in the graph): the window's sink and entropy sums and the counters' finite-only ones.
     */
    private static final class HeadSums {
        double sink;
        double entropy;
        long entropyQueries;
        double finiteSink;
        double finiteEntropy;
        long finiteQueries;
        long finiteEntropyQueries;
        long nonFinite;

        /**
         * Adds a query with probability {@code p0} at the first unmasked key and {@code Σ p ln p} over its
         * {@code visible} keys; its entropy {@code −Σ p ln p / ln(visible)} counts only with two visible keys or more.
         */
        void addQuery(float p0, float plogp, int visible, float[] invLog) {
            sink += p0;
            float e = visible >= 2 ? -plogp * invLog[visible] : 0f;
            if (visible >= 2) {
                entropy += e;
                entropyQueries++;
            }
            if (Float.isFinite(p0) && Float.isFinite(e)) {
                finiteSink += p0;
                finiteQueries++;
                if (visible >= 2) {
                    finiteEntropy += e;
                    finiteEntropyQueries++;
                }
            } else {
                nonFinite++;
            }
        }
    }
}
