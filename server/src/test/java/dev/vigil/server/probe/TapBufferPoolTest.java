package dev.vigil.server.probe;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.ProbeSettings;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tap buffer pool's bounds: nothing before the shapes are known, reuse per (B, T), a hard cap, a small LRU, a
 * bounded wait for a busy set; shapes learned from what the graph declares, a tap that does not follow B and T left
 * to ORT; under concurrent requests, a set is never shared nor of another shape.
 */
class TapBufferPoolTest {
    /** Learned at B = 2, T = 3: an attention tap [B, 4, T, T] and an activation [B, T, 7]. */
    private static final Map<String, long[]> SHAPES = Map.of("p", new long[]{2, 4, 3, 3}, "a", new long[]{2, 3, 7});
    /** A graph that declares no tap shape. */
    private static final Function<String, long[]> UNDECLARED = tap -> null;

    @Test
    void shapesFollowBatchAndTokensOnceLearned() {
        try (TapBufferPool pool = new TapBufferPool("m", OrtEnvironment.getEnvironment(), 4, new TapMemoryBudget(1L << 30))) {
            assertNull(pool.acquire(2, 3, 0), "no buffers before the shapes are known");
            pool.learn(Map.of("a", new long[]{3, 3, 7}), UNDECLARED, 3, 3);
            assertFalse(pool.pinning(), "a run with B = T teaches nothing");
            pool.learn(SHAPES, UNDECLARED, 2, 3);
            assertTrue(pool.pinning());
            TapBufferSet set = pool.acquire(5, 11, 0);
            assertArrayEquals(new long[]{5, 4, 11, 11}, set.shape("p"));
            assertArrayEquals(new long[]{5, 11, 7}, set.shape("a"));
            assertEquals(5 * 4 * 11 * 11, set.buffer("p").capacity());
            assertTrue(set.buffer("a").isDirect());
            pool.release(set);
        }
    }

    @Test
    void setsAreReusedAndCapped() {
        try (TapBufferPool pool = new TapBufferPool("m", OrtEnvironment.getEnvironment(), 3, new TapMemoryBudget(1L << 30))) {
            pool.learn(SHAPES, UNDECLARED, 2, 3);
            TapBufferSet first = pool.acquire(2, 3, 0);
            pool.release(first);
            assertSame(first, pool.acquire(2, 3, 0), "a free set of the same (B, T) is reused");
            TapBufferSet second = pool.acquire(2, 3, 0);
            TapBufferSet third = pool.acquire(1, 3, 0);
            assertEquals(3, pool.live());
            assertNull(pool.acquire(2, 3, 0), "all 3 sets busy: no fourth");
            pool.release(third);
            TapBufferSet other = pool.acquire(4, 3, 0);
            assertNotNull(other, "a free set of another (B, T) makes room");
            assertEquals(3, pool.live(), "by being freed first");
        }
    }

    @Test
    void aRequestWaitsBoundedForASetOfAnyModelToComeBack() throws Exception {
        long setBytes = (2 * 4 * 3 * 3 + 2 * 3 * 7) * Float.BYTES;
        TapMemoryBudget budget = new TapMemoryBudget(setBytes + setBytes / 2);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (TapBufferPool a = new TapBufferPool("a", env, 1, budget);
             TapBufferPool b = new TapBufferPool("b", env, 8, budget)) {
            a.learn(SHAPES, UNDECLARED, 2, 3);
            b.learn(SHAPES, UNDECLARED, 2, 3);
            TapBufferSet held = a.acquire(2, 3, 0);
            long t0 = System.nanoTime();
            assertNull(a.acquire(2, 3, 200_000_000L), "a's only set stays busy");
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(waitedMs >= 190 && waitedMs < 30_000, "waited " + waitedMs + " ms for a 200 ms bound");
            assertNull(b.acquire(2, 3, 50_000_000L), "the memory is held by a's busy set");
            assertNull(b.acquire(1_000, 3, 10_000_000_000L), "a set larger than the whole budget is refused at once");
            Thread release = new Thread(() -> {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                a.release(held);
            });
            release.start();
            TapBufferSet taken = b.acquire(2, 3, 30_000_000_000L);
            release.join();
            assertNotNull(taken, "a's set came back within the wait: its memory goes to b");
            assertEquals(0, a.live());
            b.release(taken);
        }
    }

    @Test
    void modelsShareTheTapMemoryAndFreeSetsOfAnyModelMakeRoom() {
        long setBytes = (2 * 4 * 3 * 3 + 2 * 3 * 7) * Float.BYTES;
        TapMemoryBudget budget = new TapMemoryBudget(setBytes + setBytes / 2);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (TapBufferPool a = new TapBufferPool("a", env, 8, budget);
             TapBufferPool b = new TapBufferPool("b", env, 8, budget)) {
            a.learn(SHAPES, UNDECLARED, 2, 3);
            b.learn(SHAPES, UNDECLARED, 2, 3);
            TapBufferSet held = a.acquire(2, 3, 0);
            assertEquals(setBytes, budget.usedBytes());
            assertNull(b.acquire(2, 3, 0), "a's set is busy and a second one does not fit");
            assertEquals(0, b.live());
            a.release(held);
            assertEquals(1, a.live(), "a keeps its free set for reuse");
            TapBufferSet taken = b.acquire(2, 3, 0);
            assertNotNull(taken, "a's free set is closed to make room for b");
            assertEquals(0, a.live());
            assertEquals(setBytes, budget.usedBytes());
            b.release(taken);
        }
        assertEquals(0, budget.usedBytes(), "closing the pools gives every byte back");
    }

    @Test
    void freeSetsAreKeptForTheMostRecentShapesOnly() {
        try (TapBufferPool pool = new TapBufferPool("m", OrtEnvironment.getEnvironment(), 100, new TapMemoryBudget(1L << 30))) {
            pool.learn(SHAPES, UNDECLARED, 2, 3);
            List<TapBufferSet> sets = new ArrayList<>();
            for (int b = 1; b <= TapBufferPool.MAX_SHAPES + 1; b++) {
                TapBufferSet set = pool.acquire(b, 3, 0);
                sets.add(set);
                pool.release(set);
            }
            assertEquals(TapBufferPool.MAX_SHAPES, pool.live(), "the least recently used shape's set was freed");
            int last = TapBufferPool.MAX_SHAPES + 1;
            assertSame(sets.get(last - 1), pool.acquire(last, 3, 0));
            TapBufferSet again = pool.acquire(1, 3, 0);
            assertFalse(again == sets.get(0), "batch 1's set was freed, so a new one is made");
        }
    }

    @Test
    void onlyARetryThatSucceedsUnpinnedForgetsTheShapes() {
        ProbeSite site = new ProbeSite(SiteKind.MLP, 0, "a", List.of(), "Relu");
        ProbedModel model = new ProbedModel("m", ProbeSettings.defaults(), List.of(site), 4, new TapMemoryBudget(1L << 30), Set.of());
        TapBufferPool pool = model.buffers();
        pool.learn(Map.of("a", new long[]{2, 3, 7}), UNDECLARED, 2, 3);

        ProbeTaps badInput = new ProbeTaps(model, 2, 3, pool.acquire(2, 3, 0));
        assertEquals(Set.of("a"), badInput.pinned().keySet());
        badInput.unpinned(new OrtException("the request fails in ORT either way"));
        assertEquals(Set.of("a"), badInput.outputs(), "the retry lets ORT allocate the taps");
        badInput.close();
        assertTrue(pool.pinning(), "a request that failed pinned and unpinned says nothing about the shapes");
        assertEquals(1, pool.live(), "its set went back to the pool");

        ProbeTaps wrongShape = new ProbeTaps(model, 2, 3, pool.acquire(2, 3, 0));
        wrongShape.unpinned(new OrtException("shape mismatch"));
        wrongShape.reportPinFailure(Map.of("a", new long[]{2, 3, 5}));
        wrongShape.close();
        assertFalse(pool.pinning(), "failed pinned, worked unpinned: the shapes are learned again");
        assertEquals(0, pool.live());
    }

    @Test
    void aDimTheGraphDeclaresFixedIsNeverTakenForBOrT() {
        // MiniLM's attention maps [B, 12, T, T], first seen with 12 tokens (or a batch of 12)
        Function<String, long[]> declared = tap -> tap.equals("p") ? new long[]{-1, 12, -1, -1} : null;
        try (TapBufferPool pool = new TapBufferPool("m", OrtEnvironment.getEnvironment(), 4, new TapMemoryBudget(1L << 30))) {
            pool.learn(Map.of("p", new long[]{2, 12, 12, 12}), declared, 2, 12);
            TapBufferSet set = pool.acquire(2, 15, 0);
            assertArrayEquals(new long[]{2, 12, 15, 15}, set.shape("p"));
            pool.release(set);
        }
        try (TapBufferPool pool = new TapBufferPool("m", OrtEnvironment.getEnvironment(), 4, new TapMemoryBudget(1L << 30))) {
            pool.learn(Map.of("p", new long[]{12, 12, 3, 3}), declared, 12, 3);
            assertArrayEquals(new long[]{2, 12, 3, 3}, pool.acquire(2, 3, 0).shape("p"));
        }
        try (TapBufferPool pool = new TapBufferPool("m", OrtEnvironment.getEnvironment(), 4, new TapMemoryBudget(1L << 30))) {
            pool.learn(Map.of("p", new long[]{12, 12, 12, 12}), declared, 12, 12);
            assertFalse(pool.pinning(), "B = T: the open dims stay ambiguous");
            pool.learn(Map.of("p", new long[]{4, 12, 3, 3}), declared, 4, 3);
            assertArrayEquals(new long[]{1, 12, 7, 7}, pool.acquire(1, 7, 0).shape("p"));
        }
    }

    @Test
    void aTapWhoseShapeDoesNotFollowBAndTIsLeftToOrtAndTheOthersStayPinned() {
        // "p" is [B * 4, T, T] (heads folded into the batch), "a" is [B, T, 7]; the graph declares neither
        List<ProbeSite> sites = List.of(new ProbeSite(SiteKind.MLP, 0, "a", List.of(), "Relu"),
                new ProbeSite(SiteKind.MLP, 1, "p", List.of(), "Relu"));
        ProbedModel model = new ProbedModel("m", ProbeSettings.defaults(), sites, 4, new TapMemoryBudget(1L << 30),
                Set.of());
        TapBufferPool pool = model.buffers();
        pool.learn(Map.of("p", new long[]{8, 3, 3}, "a", new long[]{2, 3, 7}), UNDECLARED, 2, 3);

        ProbeTaps first = new ProbeTaps(model, 1, 3, pool.acquire(1, 3, 0));
        assertArrayEquals(new long[]{8, 3, 3}, first.buffers().shape("p"), "8 was taken for a constant");
        first.unpinned(new OrtException("Got invalid dimensions for output p"));
        Map<String, long[]> retried = Map.of("p", new long[]{4, 3, 3}, "a", new long[]{1, 3, 7});
        first.reportPinFailure(retried);
        first.close();
        assertEquals(Set.of(), pool.unpinnable(), "one wrong shape may be a coincidence: p is learned again");
        pool.learn(retried, UNDECLARED, 1, 3);

        ProbeTaps second = new ProbeTaps(model, 2, 3, pool.acquire(2, 3, 0));
        assertArrayEquals(new long[]{4, 3, 3}, second.buffers().shape("p"), "4 was taken for a constant");
        second.unpinned(new OrtException("Got invalid dimensions for output p"));
        retried = Map.of("p", new long[]{8, 3, 3}, "a", new long[]{2, 3, 7});
        second.reportPinFailure(retried);
        second.close();
        assertEquals(Set.of("p"), pool.unpinnable(), "wrong twice: p does not follow B and T");
        pool.learn(retried, UNDECLARED, 2, 3);

        assertTrue(pool.pinning(), "a is still pinned");
        ProbeTaps third = new ProbeTaps(model, 5, 3, pool.acquire(5, 3, 0));
        assertEquals(Set.of("a"), third.pinned().keySet());
        assertArrayEquals(new long[]{5, 3, 7}, third.buffers().shape("a"));
        assertEquals(Set.of("p"), third.tapOutputs(), "ORT allocates p in every run");
        third.close();
        assertEquals(2, pool.mismatches(), "two runs were retried");
        pool.close();
    }

    @Test
    void oneRunAtATimePerModelHasOrtAllocateItsTapsAndTheirCopiesAreBoundedAndGivenBack() {
        ProbeSite site = new ProbeSite(SiteKind.MLP, 0, "a", List.of(), "Relu");
        TapMemoryBudget budget = new TapMemoryBudget(1L << 30, 1000);
        ProbedModel model = new ProbedModel("m", ProbeSettings.defaults(), List.of(site), 4, budget, Set.of());
        ProbedModel other = new ProbedModel("o", ProbeSettings.defaults(), List.of(site), 4, budget, Set.of());

        ProbeTaps learning = ProbeTaps.withoutSet(model, 2, 3, 0);
        assertNotNull(learning);
        assertNull(ProbeTaps.withoutSet(model, 2, 3, 1_000_000), "the model's one run without a set is taken");
        ProbeTaps otherModel = ProbeTaps.withoutSet(other, 2, 3, 0);
        assertNotNull(otherModel, "the permit is per model");
        otherModel.close();

        assertTrue(learning.reserveCopies(600));
        assertFalse(learning.reserveCopies(600), "600 + 600 bytes of copies are over the 1000 allowed");
        assertEquals(600, budget.copyBytes(), "a refused reservation takes nothing");
        Runnable observed = learning.handOver();
        learning.close();
        assertEquals(600, budget.copyBytes(), "handed over: the copies live until the statistics have read them");
        ProbeTaps next = ProbeTaps.withoutSet(model, 2, 3, 0);
        assertNotNull(next, "the request ended: its permit came back");
        assertFalse(next.reserveCopies(600));
        observed.run();
        assertEquals(0, budget.copyBytes());
        assertTrue(next.reserveCopies(600));
        next.close();
        next.close();
        assertEquals(0, budget.copyBytes(), "a request that ends without handing its copies over gives them back");
        ProbeTaps third = ProbeTaps.withoutSet(model, 2, 3, 0);
        assertNotNull(third);
        assertNull(ProbeTaps.withoutSet(model, 2, 3, 0), "closing twice gave the permit back once");
        third.close();
        model.buffers().close();
        other.buffers().close();
    }

    @Test
    void concurrentRequestsNeverShareASetNorGetOneOfAnotherShape() throws Exception {
        int threads = 8;
        int rounds = 1_500;
        // a budget for about 10 sets of the largest shape: requests wait for each other, free sets are closed for
        // room, and the pool forgets its shapes twice while sets are busy
        TapMemoryBudget budget = new TapMemoryBudget(10L * (3 * 4 * 5 * 5 + 3 * 5 * 7) * Float.BYTES);
        try (TapBufferPool pool = new TapBufferPool("m", OrtEnvironment.getEnvironment(), 12, budget)) {
            pool.learn(SHAPES, UNDECLARED, 2, 3);
            AtomicInteger forgotten = new AtomicInteger();
            List<Thread> workers = new ArrayList<>();
            List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
            for (int w = 0; w < threads; w++) {
                float mark = w + 1;
                Random random = new Random(w);
                workers.add(new Thread(() -> {
                    try {
                        for (int r = 0; r < rounds; r++) {
                            int b = 1 + random.nextInt(3);
                            int t = 3 + random.nextInt(3);
                            if (!pool.pinning()) {
                                // as from a graph that declares the 4 heads (t may be 4)
                                pool.learn(Map.of("p", new long[]{b, 4, t, t}, "a", new long[]{b, t, 7}),
                                        tap -> tap.equals("p") ? new long[]{-1, 4, -1, -1} : null, b, t);
                            }
                            TapBufferSet set = pool.acquire(b, t, 50_000_000L);
                            if (set == null) {
                                continue;
                            }
                            assertArrayEquals(new long[]{b, 4, t, t}, set.shape("p"));
                            assertArrayEquals(new long[]{b, t, 7}, set.shape("a"));
                            assertEquals(b * 4 * t * t, set.buffer("p").capacity());
                            assertEquals(b * t * 7, set.buffer("a").capacity());
                            FloatBuffer p = set.buffer("p");
                            for (int i = 0; i < p.capacity(); i++) {
                                p.put(i, mark);
                            }
                            Thread.yield();
                            for (int i = 0; i < p.capacity(); i++) {
                                assertEquals(mark, p.get(i), "another request wrote into this set");
                            }
                            if (r == rounds / 2 && mark <= 2 && forgotten.incrementAndGet() <= 2) {
                                pool.release(set);
                                pool.mismatch(set, new OrtException("forgotten while other sets are busy"), Map.of());
                            } else {
                                pool.release(set);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            workers.forEach(Thread::start);
            for (Thread thread : workers) {
                thread.join(120_000);
            }
            assertEquals(List.of(), failures);
            assertTrue(pool.pinning(), "relearned after being forgotten");
            assertTrue(pool.live() <= TapBufferPool.MAX_SHAPES * 12 && pool.live() >= 1, "live " + pool.live());
        }
        assertEquals(0, budget.usedBytes(), "every set's memory came back");
    }
}
