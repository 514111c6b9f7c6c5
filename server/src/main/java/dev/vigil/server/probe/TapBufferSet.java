package dev.vigil.server.probe;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * One request's worth of tap buffers for one (B, T): per tap a direct float buffer and the ONNX Runtime tensor over
 * it, which a run writes into in place (a pinned output), so the statistics read the taps where ORT wrote them.
 */
final class TapBufferSet implements AutoCloseable {
    private final long key;
    private final int generation;
    private final Map<String, FloatBuffer> buffers;
    private final Map<String, long[]> shapes;
    private final Map<String, OnnxTensor> tensors;
    private final TapMemoryBudget budget;
    private final long bytes;
    private boolean closed;
    /** Of the model's taps, those this set has no buffer for; computed on first use, then fixed. */
    private volatile Set<String> unbuffered;

    private TapBufferSet(long key, int generation, Map<String, FloatBuffer> buffers, Map<String, long[]> shapes,
                         Map<String, OnnxTensor> tensors, TapMemoryBudget budget, long bytes) {
        this.key = key;
        this.generation = generation;
        this.buffers = buffers;
        this.shapes = shapes;
        this.tensors = tensors;
        this.budget = budget;
        this.bytes = bytes;
    }

    /** The bytes of every tap of {@code pattern} for a run of {@code batch} x {@code tokens}. */
    static long bytes(TapShapePattern pattern, int batch, int tokens) {
        long total = 0;
        for (String tap : pattern.taps()) {
            total += floatBytes(pattern.shape(tap, batch, tokens));
        }
        return total;
    }

    /** The bytes of a float tensor of {@code shape}. */
    static long floatBytes(long[] shape) {
        long n = Float.BYTES;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /**
     * Allocates the buffers of every tap of {@code pattern} for a run of {@code batch} x {@code tokens}.
     *
     * @param generation the pool's generation of learned shapes this set belongs to
     * @param budget     where {@code bytes} were reserved; given back when the set is closed
     */
    static TapBufferSet allocate(OrtEnvironment env, TapShapePattern pattern, int batch, int tokens, int generation,
                                 TapMemoryBudget budget, long bytes) throws OrtException {
        Map<String, FloatBuffer> buffers = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
        try {
            for (String tap : pattern.taps()) {
                long[] shape = pattern.shape(tap, batch, tokens);
                FloatBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(floatBytes(shape)))
                        .order(ByteOrder.nativeOrder()).asFloatBuffer();
                buffers.put(tap, buffer);
                shapes.put(tap, shape);
                tensors.put(tap, OnnxTensor.createTensor(env, buffer, shape));
            }
        } catch (OrtException | RuntimeException | OutOfMemoryError e) {
            tensors.values().forEach(OnnxTensor::close);
            throw e;
        }
        return new TapBufferSet(key(batch, tokens), generation, Map.copyOf(buffers), shapes, Map.copyOf(tensors),
                budget, bytes);
    }

    static long key(int batch, int tokens) {
        return (long) batch << 32 | tokens;
    }

    /** The (B, T) this set was made for, as {@link #key}. */
    long key() {
        return key;
    }

    int generation() {
        return generation;
    }

    /** The tensors to pass as pinned outputs, by tap name. */
    Map<String, OnnxTensor> tensors() {
        return tensors;
    }

    /**
     * Of {@code taps}, the model's taps (the same set on every call), those this set has no buffer for: ONNX Runtime
     * allocates them in a run that uses this set. Computed once per set, not per run.
     */
    Set<String> unbuffered(Set<String> taps) {
        Set<String> result = unbuffered;
        if (result == null) {
            Set<String> rest = new LinkedHashSet<>(taps);
            rest.removeAll(tensors.keySet());
            result = Collections.unmodifiableSet(rest);
            unbuffered = result;
        }
        return result;
    }

    /** The values of {@code tap} as the last run wrote them. */
    FloatBuffer buffer(String tap) {
        return buffers.get(tap);
    }

    long[] shape(String tap) {
        return shapes.get(tap).clone();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        tensors.values().forEach(OnnxTensor::close);
        budget.release(bytes);
    }
}
