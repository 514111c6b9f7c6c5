package dev.vigil.server.probe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The recorded-run reservoir: bounded, a uniform sample of what was offered, and exact copies of the inputs. */
class RequestReservoirTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void keepsTheFirstRunsThenAUniformSampleOfAll() throws Exception {
        int capacity = 4;
        int offers = 20;
        int trials = 2000;
        int[] kept = new int[offers];
        for (int t = 0; t < trials; t++) {
            RequestReservoir r = new RequestReservoir(capacity, 1024);
            for (int i = 0; i < offers; i++) {
                try (OnnxTensor ids = ids(i, 1)) {
                    r.offer(Map.of("input_ids", ids));
                }
                if (i < capacity) {
                    assertEquals(i + 1, r.sample().size(), "the first runs are all kept");
                }
            }
            List<RecordedRequest> sample = r.sample();
            assertEquals(capacity, sample.size());
            for (RecordedRequest rec : sample) {
                kept[(int) ByteBuffer.wrap(rec.feeds().get("input_ids").data()).order(ByteOrder.nativeOrder())
                        .getLong(0)]++;
            }
        }
        // each run is kept with probability capacity/offers = 0.2: 400 of 2000 trials, standard deviation 17.9
        for (int i = 0; i < offers; i++) {
            assertTrue(Math.abs(kept[i] - 400) < 90, "run " + i + " kept " + kept[i] + " times of " + trials);
        }
    }

    @Test
    void skipsRunsAboveTheByteLimitAndCopiesExactly() throws Exception {
        RequestReservoir r = new RequestReservoir(2, 8 * 6);
        try (OnnxTensor big = ids(1, 7)) {
            r.offer(Map.of("input_ids", big));
        }
        assertEquals(0, r.sample().size());
        assertEquals(1, r.tooLarge());
        try (OnnxTensor small = ids(5, 6)) {
            r.offer(Map.of("input_ids", small));
        }
        RecordedRequest rec = r.sample().get(0);
        assertEquals(48, rec.bytes());
        try (OnnxTensor back = rec.tensors(ENV).get("input_ids")) {
            assertArrayEquals(new long[] {1, 6}, back.getInfo().getShape());
            long[] v = new long[6];
            back.getLongBuffer().get(v);
            assertArrayEquals(new long[] {5, 6, 7, 8, 9, 10}, v);
        }
        RequestReservoir none = new RequestReservoir(0, 1024);
        try (OnnxTensor small = ids(5, 6)) {
            none.offer(Map.of("input_ids", small));
        }
        assertTrue(none.sample().isEmpty());
    }

    /** A [1, n] int64 tensor holding first, first+1, ... */
    private static OnnxTensor ids(long first, int n) throws Exception {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = first + i;
        }
        return OnnxTensor.createTensor(ENV, LongBuffer.wrap(v), new long[] {1, n});
    }
}
