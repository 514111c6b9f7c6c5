package dev.vigil.server.batching;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class LengthGroupsTest {
    @Test
    void shortAndLongRequestsRunApartWhenPaddingCostsMoreThanARun() {
        // together: 18 + 4 × 20 = 98 padded token rows; apart: 18 + 2 × 5 + 18 + 2 × 20 = 86
        List<int[]> runs = LengthGroups.split(new int[]{20, 5, 20, 5}, new int[]{1, 1, 1, 1}, 18, 1000);
        assertEquals(2, runs.size());
        assertArrayEquals(new int[]{1, 3}, runs.get(0));
        assertArrayEquals(new int[]{0, 2}, runs.get(1));
    }

    @Test
    void similarLengthsStayOneRun() {
        // together: 18 + 2 × 12 = 42; apart: 18 + 10 + 18 + 12 = 58
        List<int[]> runs = LengthGroups.split(new int[]{12, 10}, new int[]{1, 1}, 18, 1000);
        assertEquals(1, runs.size());
        assertArrayEquals(new int[]{1, 0}, runs.get(0));
    }

    @Test
    void rowsWeighTheirPadding() {
        // a 4-row request of 6 tokens beside one row of 20: together 18 + 5 × 20 = 118, apart 18 + 24 + 18 + 20 = 80;
        // with a run cost of 60 together is cheaper (160 vs 164)
        assertEquals(2, LengthGroups.split(new int[]{6, 20}, new int[]{4, 1}, 18, 1000).size());
        assertEquals(1, LengthGroups.split(new int[]{6, 20}, new int[]{4, 1}, 60, 1000).size());
    }

    @Test
    void aSharedRunHoldsAtMostTheTokenBudget() {
        // 4 × 128 tokens: one run of 512 costs least, but a budget of 256 allows pairs; a request beyond it runs alone
        assertEquals(1, LengthGroups.split(new int[]{128, 128, 128, 128}, new int[]{1, 1, 1, 1}, 18, 512).size());
        List<int[]> pairs = LengthGroups.split(new int[]{128, 128, 128, 128}, new int[]{1, 1, 1, 1}, 18, 256);
        assertEquals(2, pairs.size());
        assertArrayEquals(new int[]{0, 1}, pairs.get(0));
        assertEquals(2, LengthGroups.split(new int[]{300, 10}, new int[]{1, 1}, 18, 256).size());
        assertEquals(1, LengthGroups.split(new int[]{300}, new int[]{3}, 18, 256).size());
    }

    @Test
    void theSplitIsTheCheapestOfAllPartitionsOrWithABudgetOfAllRunsOfConsecutiveLengths() {
        Random random = new Random(3);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + random.nextInt(7);
            int[] lengths = new int[n];
            int[] rows = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = 2 + random.nextInt(40);
                rows[i] = 1 + random.nextInt(4);
            }
            int runCost = random.nextInt(40);
            int maxTokens = 20 + random.nextInt(200);
            List<int[]> runs = LengthGroups.split(lengths, rows, runCost, maxTokens);
            boolean[] seen = new boolean[n];
            int previousLongest = 0;
            for (int[] run : runs) {
                int shortest = Integer.MAX_VALUE;
                for (int i : run) {
                    assertEquals(false, seen[i], "request " + i + " in two runs");
                    seen[i] = true;
                    shortest = Math.min(shortest, lengths[i]);
                }
                assertEquals(true, shortest >= previousLongest, "runs go shortest first");
                previousLongest = Arrays.stream(run).map(i -> lengths[i]).max().orElseThrow();
            }
            for (boolean s : seen) {
                assertEquals(true, s, "every request runs");
            }
            String what = Arrays.toString(lengths) + " " + Arrays.toString(rows) + " run cost " + runCost;
            List<int[]> unlimited = LengthGroups.split(lengths, rows, runCost, Long.MAX_VALUE);
            assertEquals(bruteForce(lengths, rows, runCost, Integer.MAX_VALUE),
                    cost(unlimited, lengths, rows, runCost, Integer.MAX_VALUE), what);
            assertEquals(consecutiveBruteForce(lengths, rows, runCost, maxTokens),
                    cost(runs, lengths, rows, runCost, maxTokens), what + " budget " + maxTokens);
        }
    }

    /** The cost of these runs; Long.MAX_VALUE when a run of more than one request is over the budget. */
    private static long cost(List<int[]> runs, int[] lengths, int[] rows, int runCost, int maxTokens) {
        long total = 0;
        for (int[] run : runs) {
            long longest = 0;
            long r = 0;
            for (int i : run) {
                longest = Math.max(longest, lengths[i]);
                r += rows[i];
            }
            if (run.length > 1 && r * longest > maxTokens) {
                return Long.MAX_VALUE;
            }
            total += runCost + r * longest;
        }
        return total;
    }

    /** The cheapest split of the requests sorted by length (stable) into runs of consecutive ones: every set of cuts. */
    private static long consecutiveBruteForce(int[] lengths, int[] rows, int runCost, int maxTokens) {
        int n = lengths.length;
        int[] order = java.util.stream.IntStream.range(0, n).boxed()
                .sorted((a, b) -> Integer.compare(lengths[a], lengths[b])).mapToInt(Integer::intValue).toArray();
        long best = Long.MAX_VALUE;
        for (int cuts = 0; cuts < 1 << (n - 1); cuts++) {
            List<int[]> runs = new ArrayList<>();
            int from = 0;
            for (int i = 1; i <= n; i++) {
                if (i == n || (cuts >> (i - 1) & 1) == 1) {
                    runs.add(Arrays.copyOfRange(order, from, i));
                    from = i;
                }
            }
            best = Math.min(best, cost(runs, lengths, rows, runCost, maxTokens));
        }
        return best;
    }

    /** The cheapest of every set partition of the requests (restricted growth strings). */
    private static long bruteForce(int[] lengths, int[] rows, int runCost, int maxTokens) {
        int n = lengths.length;
        int[] label = new int[n];
        long best = Long.MAX_VALUE;
        while (true) {
            int groups = Arrays.stream(label).max().orElse(0) + 1;
            List<int[]> runs = new ArrayList<>();
            for (int g = 0; g < groups; g++) {
                int group = g;
                runs.add(java.util.stream.IntStream.range(0, n).filter(i -> label[i] == group).toArray());
            }
            best = Math.min(best, cost(runs, lengths, rows, runCost, maxTokens));
            // next restricted growth string: label[i] <= 1 + max(label[0..i-1])
            int i = n - 1;
            while (i > 0) {
                int max = 0;
                for (int k = 0; k < i; k++) {
                    max = Math.max(max, label[k]);
                }
                if (label[i] <= max) {
                    label[i]++;
                    Arrays.fill(label, i + 1, n, 0);
                    break;
                }
                i--;
            }
            if (i == 0) {
                return best;
            }
        }
    }
}
