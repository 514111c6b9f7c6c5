package dev.vigil.server.probe;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Each tap's shape as a function of the request's batch size B and sequence length T, learned from one run whose
 * taps ONNX Runtime allocated. A dim the graph declares fixed (an attention map's head count) is a constant; of the
 * others, one equal to that run's B stands for B, one equal to its T for T, any other is a constant. A run with
 * B = T teaches nothing when a dim not declared fixed equals them (it would be ambiguous). A dim the graph leaves open
 * that only happened to equal B or T, or that follows them in another way ({@code B * heads}), is learned wrong; the
 * pinned run that then fails on the shape tells the {@link TapBufferPool} to learn it again or leave the tap unpinned.
 */
final class TapShapePattern {
    private static final long BATCH = -1;
    private static final long TOKENS = -2;

    private final Map<String, long[]> dims;

    private TapShapePattern(Map<String, long[]> dims) {
        this.dims = dims;
    }

    /**
     * The pattern of these tap shapes, seen in a run of {@code batch} x {@code tokens}; null when there is no tap or
     * the run is ambiguous (B = T and a dim not declared fixed equals them).
     *
     * @param declared a tap's shape as the graph declares it (a negative dim is open), or null when not declared
     */
    static TapShapePattern learn(Map<String, long[]> shapes, Function<String, long[]> declared, int batch,
                                 int tokens) {
        if (shapes.isEmpty()) {
            return null;
        }
        Map<String, long[]> dims = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long[] code = e.getValue().clone();
            long[] fixed = declared.apply(e.getKey());
            if (fixed != null && fixed.length != code.length) {
                fixed = null;
            }
            for (int i = 0; i < code.length; i++) {
                if (fixed != null && fixed[i] >= 0) {
                    continue;
                }
                if (batch == tokens && code[i] == batch) {
                    return null;
                }
                code[i] = code[i] == batch ? BATCH : code[i] == tokens ? TOKENS : code[i];
            }
            dims.put(e.getKey(), code);
        }
        return new TapShapePattern(dims);
    }

    /** The taps the pattern covers (the pinned float taps of the run it was learned from). */
    Set<String> taps() {
        return dims.keySet();
    }

    /** The shape of {@code tap} in a run of {@code batch} x {@code tokens}. */
    long[] shape(String tap, int batch, int tokens) {
        long[] shape = dims.get(tap).clone();
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shape[i] == BATCH ? batch : shape[i] == TOKENS ? tokens : shape[i];
        }
        return shape;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, long[]> e : dims.entrySet()) {
            sb.append(sb.length() == 0 ? "" : ", ").append(e.getKey()).append(' ')
                    .append(Arrays.toString(e.getValue()).replace("-1", "B").replace("-2", "T"));
        }
        return sb.toString();
    }
}
