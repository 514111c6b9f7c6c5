package dev.vigil.server.memory;

import dev.vigil.server.errors.ApiException;
import org.junit.jupiter.api.Test;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestMemoryTest {
    private static final int MIB = 1 << 20;
    /** Direct bytes that may change beside the test's own buffers (far below the 8 MiB it frees). */
    private static final double NOISE = MIB / 4.0;

    /** Native memory the JVM's direct buffers hold now, as the JVM accounts it. */
    private static long directBytes() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                return pool.getMemoryUsed();
            }
        }
        throw new AssertionError("no direct buffer pool");
    }

    @Test
    void reservationsAreBoundedAndAllReturnOnClose() {
        MemoryBudget budget = new MemoryBudget(10 * MIB);
        RequestMemory a = new RequestMemory(budget);
        RequestMemory b = new RequestMemory(budget);
        a.reserve(6 * MIB);
        ApiException busy = assertThrows(ApiException.class, () -> b.reserve(5 * MIB));
        assertEquals(503, busy.status());
        assertEquals(6 * MIB, budget.used(), "a refused reservation takes nothing");
        ApiException tooBig = assertThrows(ApiException.class, () -> b.reserve(11 * MIB));
        assertEquals(413, tooBig.status());
        b.reserve(4 * MIB);
        assertEquals(10 * MIB, budget.used());
        a.close();
        a.close();
        assertEquals(4 * MIB, budget.used(), "closing twice releases once");
        b.close();
        assertEquals(0, budget.used());
    }

    @Test
    void directBuffersAreFreedWhenTheRequestEndsNotAtTheNextGc() {
        assumeFreesAtOnce();
        MemoryBudget budget = new MemoryBudget(64 * MIB);
        long before = directBytes();
        RequestMemory memory = new RequestMemory(budget);
        ByteBuffer first = memory.allocateDirect(8 * MIB);
        ByteBuffer second = memory.allocateDirect(16 * MIB);
        assertEquals(8 * MIB, first.capacity());
        assertEquals(24 * MIB, budget.used());
        // within NOISE: other threads' buffers (an earlier test's server, a cleaner running) come and go meanwhile
        assertEquals(before + 24 * MIB, directBytes(), NOISE);
        memory.free(first);
        assertEquals(16 * MIB, budget.used());
        assertEquals(before + 16 * MIB, directBytes(), NOISE, "an outgrown buffer is freed at once");
        memory.close();
        assertEquals(0, budget.used());
        assertEquals(before, directBytes(), NOISE, "the rest is freed when the request ends");
        assertTrue(second.capacity() > 0);
    }

    @Test
    void aBufferOverTheBudgetIsRefusedBeforeItIsAllocated() {
        MemoryBudget budget = new MemoryBudget(4 * MIB);
        long before = directBytes();
        try (RequestMemory memory = new RequestMemory(budget)) {
            assertEquals(413, assertThrows(ApiException.class, () -> memory.allocateDirect(5 * MIB)).status());
            // JVM-wide count: earlier tests' buffers may be freed meanwhile, so it must not grow (5 MiB would show)
            long after = directBytes();
            assertTrue(after <= before, "direct memory grew from " + before + " to " + after);
            assertEquals(0, budget.used());
        }
    }

    private static void assumeFreesAtOnce() {
        assertTrue(DirectBuffers.freesAtOnce(), "this JVM offers sun.misc.Unsafe.invokeCleaner");
    }
}
