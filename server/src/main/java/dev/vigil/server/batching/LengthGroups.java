package dev.vigil.server.batching;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits a batch of padded token requests into runs of similar length. Padded to the longest request, a batch of
 * mixed lengths computes every padding token; on a CPU a model run costs about its padded tokens plus a fixed
 * amount per run, so several shorter runs can cost less than one, and a run of many long sequences costs more per
 * token than smaller runs. The split minimises {@code Σ (runCost + rows × longest)} over the runs, in padded token
 * rows, with at most {@code maxTokens} padded token rows in a run of more than one request. A dynamic program over
 * the requests sorted by length finds the cheapest split into runs of consecutive lengths; without the budget no
 * other split is cheaper. The model's costs are its {@link CpuRuns}.
 */
final class LengthGroups {
    private LengthGroups() {
    }

    /**
     * The runs, each a list of indices into the arguments, shortest requests first.
     *
     * @param lengths   each request's token length (its own padding included)
     * @param rows      each request's rows
     * @param runCost   what one more run costs, in padded token rows
     * @param maxTokens the most padded token rows of a run of more than one request
     */
    static List<int[]> split(int[] lengths, int[] rows, int runCost, long maxTokens) {
        int n = lengths.length;
        Integer[] boxed = new Integer[n];
        for (int i = 0; i < n; i++) {
            boxed[i] = i;
        }
        // stable: requests of one length stay in arrival order
        Arrays.sort(boxed, (a, b) -> Integer.compare(lengths[a], lengths[b]));
        int[] order = new int[n];
        long[] rowsBefore = new long[n + 1];
        for (int i = 0; i < n; i++) {
            order[i] = boxed[i];
            rowsBefore[i + 1] = rowsBefore[i] + rows[order[i]];
        }
        // best[j]: the cheapest split of the j shortest requests; start[j]: where its last run starts
        long[] best = new long[n + 1];
        int[] start = new int[n + 1];
        for (int j = 1; j <= n; j++) {
            best[j] = Long.MAX_VALUE;
            long longest = lengths[order[j - 1]];
            for (int i = j - 1; i >= 0; i--) {
                long padded = (rowsBefore[j] - rowsBefore[i]) * longest;
                if (i < j - 1 && padded > maxTokens) {
                    break;
                }
                long cost = best[i] + runCost + padded;
                if (cost <= best[j]) {
                    best[j] = cost;
                    start[j] = i;
                }
            }
        }
        List<int[]> runs = new ArrayList<>();
        for (int j = n; j > 0; j = start[j]) {
            runs.add(0, Arrays.copyOfRange(order, start[j], j));
        }
        return runs;
    }
}
