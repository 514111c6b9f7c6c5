package dev.vigil.probes.stats;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One request's update of each statistic, single thread, over direct buffers as ORT's pinned outputs are:
 * {@code [8,128,1536]} activations (6.3 MB) for the row statistics, {@code [8,12,128,128]} probabilities (6.3 MB)
 * for attention; 10% left padding. {@link #scalarPass} is the floor: one min/max/sum/sum-of-squares pass over the
 * same activations; {@link #quantSnapshot} is the window-close cost of one quant site.
 * GB/s per core = 6.29 MB / (ms/op).
 *
 * <p>Run: {@code mvn -B -o -q -pl probes test-compile exec:exec -Dexec.classpathScope=test -Dexec.executable=java
 * "-Dexec.args=-cp %classpath org.openjdk.jmh.Main StatsBenchmark -f 1 -wi 2 -i 3 -w 2s -r 2s
 * -jvmArgsAppend --add-modules=jdk.incubator.vector"} (without the module, attention runs its scalar path).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class StatsBenchmark {
    private static final int B = 8;
    private static final int T = 128;
    private static final int F = 1536;
    private static final int H = 12;

    private TapTensor activations;
    private TapTensor probabilities;
    private ProbedBatch request;
    private RowLayout rows;
    private AttentionLayout attentionLayout;
    private final DeadNeuronStat dead = new DeadNeuronStat(0.025);
    private final MassiveActivationStat massive = new MassiveActivationStat(100, 1000);
    private final TokenCosineStat cosine = new TokenCosineStat();
    private final QuantRangeStat quant = new QuantRangeStat(6.0);
    private final AttentionStat attention = new AttentionStat(0.3, 0);
    private final QuantRangeStat observedQuant = new QuantRangeStat(6.0);

    @Setup
    public void setup() {
        Random rnd = new Random(1);
        byte[] mask = new byte[B * T];
        for (int b = 0; b < B; b++) {
            int pad = rnd.nextInt(T / 5);
            for (int t = pad; t < T; t++) {
                mask[b * T + t] = 1;
            }
        }
        float[] a = new float[B * T * F];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (rnd.nextGaussian() * (i % F == 7 ? 50 : 1));
        }
        activations = new TapTensor(direct(a), new long[] {B, T, F});
        RandomTaps taps = new RandomTaps(2);
        probabilities = new TapTensor(direct(taps.attention(B, H, T, mask)), new long[] {B, H, T, T});
        request = new ProbedBatch(B, T, mask, Map.of("a", activations, "p", probabilities));
        rows = RowLayout.of("a", activations, request);
        attentionLayout = AttentionStat.layout("p", probabilities, request);
        observedQuant.observe(activations, rows);
    }

    private static FloatBuffer direct(float[] values) {
        FloatBuffer fb = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        fb.put(0, values);
        return fb;
    }

    @Benchmark
    public void scalarPass(Blackhole bh) {
        FloatBuffer d = activations.data();
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        double sum = 0;
        double sumSq = 0;
        for (int i = 0, n = B * T * F; i < n; i++) {
            float v = d.get(i);
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
            sumSq += (double) v * v;
        }
        bh.consume(min + max + sum + sumSq);
    }

    @Benchmark
    public void deadNeurons() {
        dead.observe(activations, rows);
    }

    @Benchmark
    public void massiveActivations() {
        massive.observe(activations, rows);
    }

    @Benchmark
    public void tokenCosine() {
        cosine.observe(activations, rows);
    }

    @Benchmark
    public void quantRanges() {
        quant.observe(activations, rows);
    }

    @Benchmark
    public void attention() {
        attention.observe(probabilities, attentionLayout, request);
    }

    @Benchmark
    public QuantSnapshot quantSnapshot() {
        return observedQuant.snapshot();
    }
}
