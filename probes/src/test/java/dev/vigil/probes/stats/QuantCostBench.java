package dev.vigil.probes.stats;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.GraphTaps;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.probes.SiteKind;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The quantization-range statistic alone on real MiniLM taps (one tapped run, its taps kept in direct buffers), per
 * request on one thread, next to the memory-bandwidth floor: one SIMD pass summing the same tensors' bytes straight
 * from their direct buffers, and a plain copy of them into a heap block (what the statistic's row loop reads); and the
 * statistic's row loop and histogram alone over as many values of one 32-row block held in cache (their arithmetic
 * without memory traffic). The variants run interleaved round by round, so machine load hits them alike. Not a unit
 * test:
 * {@code java -cp ... dev.vigil.probes.stats.QuantCostBench [model] [batch] [tokens] [rounds]}.
 */
public final class QuantCostBench {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static volatile float sink;

    private QuantCostBench() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args.length > 0 ? args[0] : "../models/all-minilm-l6-v2/model.onnx");
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 20;
        byte[] bytes = Files.readAllBytes(model);
        List<ProbeSite> sites = SiteDiscovery.discover(OnnxModels.parse(bytes));
        Set<String> quantTaps = new LinkedHashSet<>();
        for (ProbeSite s : sites) {
            if (s.kind() != SiteKind.ATTENTION) {
                quantTaps.add(s.tensor());
            }
        }
        byte[] tapped = GraphTaps.tappedModelBytes(bytes, quantTaps);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {batch, tokens};
        long[] ids = new long[batch * tokens];
        long[] mask = new long[batch * tokens];
        Random random = new Random(42);
        for (int i = 0; i < ids.length; i++) {
            int t = i % tokens;
            ids[i] = t == 0 ? 101 : t == tokens - 1 ? 102 : 1000 + random.nextInt(28000);
            mask[i] = 1;
        }
        List<TapTensor> taps = new ArrayList<>();
        List<ByteBuffer> raw = new ArrayList<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(tapped, opts);
             OnnxTensor idT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
             OnnxTensor maskT = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
             OnnxTensor typeT = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[ids.length]), shape);
             OrtSession.Result result = session.run(Map.of("input_ids", idT, "attention_mask", maskT,
                     "token_type_ids", typeT), quantTaps)) {
            for (String tap : quantTaps) {
                OnnxValue v = result.get(tap).orElseThrow();
                FloatBuffer src = ((OnnxTensor) v).getFloatBuffer();
                ByteBuffer b = ByteBuffer.allocateDirect(src.capacity() * 4).order(ByteOrder.nativeOrder());
                FloatBuffer f = b.asFloatBuffer();
                f.put(src);
                f.clear();
                raw.add(b);
                taps.add(new TapTensor(f, ((OnnxTensor) v).getInfo().getShape()));
            }
        }
        ProbedBatch request = new ProbedBatch(batch, tokens, null, new HashMap<>());
        long floats = 0;
        int maxWidth = 0;
        List<RowLayout> layouts = new ArrayList<>();
        for (TapTensor t : taps) {
            floats += t.elements();
            RowLayout layout = RowLayout.of("tap", t, request);
            layouts.add(layout);
            maxWidth = Math.max(maxWidth, layout.width);
        }
        float[] block = new float[32 * maxWidth];
        List<QuantRangeStat> stats = new ArrayList<>();
        for (int i = 0; i < taps.size(); i++) {
            stats.add(new QuantRangeStat(6.0));
        }
        // one 32-row block of a 384-wide tap, in cache: the row loop and the histogram without memory traffic
        RowLayout hotLayout = layouts.stream().filter(l -> l.width == 384).findFirst().orElse(layouts.get(0));
        float[] hot = new float[32 * hotLayout.width];
        taps.get(layouts.indexOf(hotLayout)).data().get(0, hot, 0, hot.length);
        int hotBlocks = (int) (floats / hot.length);
        QuantRows rows = new QuantRows(hotLayout.width);
        AbsHistogram hist = new AbsHistogram();
        String[] names = {"SIMD sum (bandwidth floor)", "copy into a heap block", "row loop, block in cache",
            "histogram, block in cache", "QuantRangeStat.observe"};
        double[][] ms = new double[names.length][rounds];
        for (int r = -5; r < rounds; r++) {
            for (int v = 0; v < names.length; v++) {
                long a = threadCpu();
                switch (v) {
                    case 0 -> {
                        float s = 0;
                        for (ByteBuffer b : raw) {
                            s += sum(b);
                        }
                        sink = s;
                    }
                    case 1 -> {
                        for (TapTensor t : taps) {
                            copy(t.data(), block);
                        }
                        sink = block[7];
                    }
                    case 2 -> {
                        for (int i = 0; i < hotBlocks; i++) {
                            rows.reduce(hot, 32, hotLayout.width, 0.1f);
                            rows.widen(hotLayout.width);
                        }
                    }
                    case 3 -> {
                        for (int i = 0; i < hotBlocks; i++) {
                            hist.addAll(hot, hot.length);
                        }
                    }
                    default -> {
                        for (int i = 0; i < taps.size(); i++) {
                            stats.get(i).observe(taps.get(i), layouts.get(i));
                        }
                    }
                }
                long b = threadCpu();
                if (r >= 0) {
                    ms[v][r] = (b - a) / 1e6;
                }
            }
            if (r % 4 == 3) {
                stats.forEach(QuantRangeStat::closeWindow);
            }
        }
        System.out.printf("MiniLM %d x %d, %d quant taps (%.1f MB), CPU ms per request on 1 thread, %d rounds%n",
                batch, tokens, taps.size(), floats * 4 / 1e6, rounds);
        System.out.printf("| pass | median | min | max |%n|---|---|---|---|%n");
        for (int v = 0; v < names.length; v++) {
            double[] s = ms[v].clone();
            Arrays.sort(s);
            System.out.printf("| %s | %.1f | %.1f | %.1f |%n", names[v], s[s.length / 2], s[0], s[s.length - 1]);
        }
    }

    /** Every float of {@code b} summed in SIMD lanes, read once straight from the direct buffer. */
    private static float sum(ByteBuffer b) {
        int step = SPECIES.vectorByteSize();
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = FloatVector.zero(SPECIES);
        int n = b.capacity();
        int i = 0;
        for (; i + 2 * step <= n; i += 2 * step) {
            a0 = a0.add(FloatVector.fromByteBuffer(SPECIES, b, i, ByteOrder.nativeOrder()));
            a1 = a1.add(FloatVector.fromByteBuffer(SPECIES, b, i + step, ByteOrder.nativeOrder()));
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i += 4) {
            s += b.getFloat(i);
        }
        return s;
    }

    /** The tensor copied block by block into {@code block}, as the statistic's row loop receives it. */
    private static void copy(FloatBuffer data, float[] block) {
        int n = data.capacity();
        for (int i = 0; i < n; i += block.length) {
            data.get(i, block, 0, Math.min(block.length, n - i));
        }
    }

    private static long threadCpu() {
        return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }
}
