package dev.vigil.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import dev.vigil.server.protocol.Datatype;

import dev.vigil.server.protocol.InferResponse;

import dev.vigil.server.protocol.InferResponseWriter;

import dev.vigil.server.protocol.OutputTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * JSON output cost of MiniLM's batch-8 output (8 × 128 × 384 floats): {@link InferResponseWriter} (floats formatted
 * in place) against one Jackson {@code writeNumber(float)} per element (a String per number), interleaved.
 *
 * <p>Run: {@code scripts/probe-bench.sh json [rounds]} (default 15). Prints the median ms of each and their ratio,
 * in wall time and in the thread's CPU time (which load from other processes changes less), and per float.
 */
public final class JsonOutputBench {
    private JsonOutputBench() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int n = 8 * 128 * 384;
        ByteBuffer data = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        Random random = new Random(3);
        for (int i = 0; i < n; i++) {
            data.putFloat((float) random.nextGaussian());
        }
        data.flip();
        InferResponse response = new InferResponse("m", null, List.of(new OutputTensor("output_0", Datatype.FP32,
                new long[]{8, 128, 384}, data, null, false)), Map.of());
        InferResponseWriter writer = new InferResponseWriter();
        JsonFactory factory = JsonFactory.builder().enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build();
        double[] mine = new double[rounds];
        double[] jackson = new double[rounds];
        double[] mineCpu = new double[rounds];
        double[] jacksonCpu = new double[rounds];
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long bytes = 0;
        for (int r = -3; r < rounds; r++) {
            long c0 = threads.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            bytes = writer.encode(response).json().length;
            long t1 = System.nanoTime();
            long c1 = threads.getCurrentThreadCpuTime();
            try (ByteArrayBuilder out = new ByteArrayBuilder(1024); JsonGenerator g = factory.createGenerator(out)) {
                g.writeStartArray();
                for (int i = 0; i < n; i++) {
                    g.writeNumber(data.getFloat(i << 2));
                }
                g.writeEndArray();
                g.flush();
                out.toByteArray();
            }
            long t2 = System.nanoTime();
            long c2 = threads.getCurrentThreadCpuTime();
            if (r >= 0) {
                mine[r] = (t1 - t0) / 1e6;
                jackson[r] = (t2 - t1) / 1e6;
                mineCpu[r] = (c1 - c0) / 1e6;
                jacksonCpu[r] = (c2 - c1) / 1e6;
            }
        }
        Arrays.sort(mine);
        Arrays.sort(jackson);
        Arrays.sort(mineCpu);
        Arrays.sort(jacksonCpu);
        System.out.printf("%d floats, %d bytes of JSON; median of %d rounds: InferResponseWriter %.1f ms "
                        + "(min %.1f, max %.1f), Jackson writeNumber %.1f ms (min %.1f, max %.1f), ratio %.2f%n",
                n, bytes, rounds, mine[rounds / 2], mine[0], mine[rounds - 1], jackson[rounds / 2], jackson[0],
                jackson[rounds - 1], jackson[rounds / 2] / mine[rounds / 2]);
        System.out.printf("thread CPU time, median: InferResponseWriter %.1f ms (min %.1f), Jackson writeNumber %.1f ms "
                        + "(min %.1f), ratio %.2f%n", mineCpu[rounds / 2], mineCpu[0], jacksonCpu[rounds / 2],
                jacksonCpu[0], jacksonCpu[rounds / 2] / mineCpu[rounds / 2]);
        System.out.printf("per float, thread CPU median (min): InferResponseWriter %.1f ns (%.1f), Jackson writeNumber "
                        + "%.1f ns (%.1f)%n", mineCpu[rounds / 2] * 1e6 / n, mineCpu[0] * 1e6 / n,
                jacksonCpu[rounds / 2] * 1e6 / n, jacksonCpu[0] * 1e6 / n);
    }
}
