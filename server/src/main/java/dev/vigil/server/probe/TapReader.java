package dev.vigil.server.probe;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.TapTensor;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Builds a {@link ProbedBatch} from one run: B and T from the attention-mask input ({@code [B,T]}) when the model
 * has it, else from the first input's leading dims; the mask as bytes; every tap either read in place from the
 * pooled buffers ORT wrote it into, or, when ORT allocated it, copied out (the result is closed when the request
 * ends, and the statistics run later on the worker).
 */
final class TapReader {
    private TapReader() {
    }

    /**
     * B and T of a run.
     *
     * @throws IllegalArgumentException when the inputs give no batch and sequence length
     */
    static int[] batchAndTokens(ProbedModel model, Map<String, OnnxTensor> feeds) {
        long[] dims;
        OnnxTensor maskTensor = mask(model, feeds);
        if (maskTensor != null) {
            dims = maskTensor.getInfo().getShape();
        } else if (!feeds.isEmpty()) {
            dims = feeds.values().iterator().next().getInfo().getShape();
        } else {
            throw new IllegalArgumentException("model '" + model.name() + "' has no input to size the batch");
        }
        return new int[]{dims.length > 0 ? Math.toIntExact(dims[0]) : 1, dims.length > 1 ? Math.toIntExact(dims[1]) : 1};
    }

    /** The tokens of the batch's first sequence: its unmasked positions, or its whole token axis without a mask. */
    static int firstSequenceTokens(ProbedModel model, Map<String, OnnxTensor> feeds) {
        int tokens = batchAndTokens(model, feeds)[1];
        OnnxTensor mask = mask(model, feeds);
        if (mask == null) {
            return tokens;
        }
        byte[] row = maskBytes(mask);
        int n = 0;
        for (int i = 0; i < tokens; i++) {
            n += row[i];
        }
        return n;
    }

    private static OnnxTensor mask(ProbedModel model, Map<String, OnnxTensor> feeds) {
        OnnxTensor mask = feeds.get(model.settings().attentionMaskInput());
        return mask != null && mask.getInfo().getShape().length == 2 ? mask : null;
    }

    /** The float taps among {@code taps} that ORT allocated in this run, with their shapes. */
    static Map<String, long[]> allocatedShapes(Set<String> taps, OrtSession.Result result) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (String tap : taps) {
            Optional<OnnxValue> value = result.get(tap);
            if (value.isPresent() && value.get() instanceof OnnxTensor t && t.getInfo().type == OnnxJavaType.FLOAT) {
                shapes.put(tap, t.getInfo().getShape());
            }
        }
        return shapes;
    }

    /** The run's attention mask as bytes (1 = real token); null when the model has no {@code [B,T]} mask input. */
    static byte[] mask(Map<String, OnnxTensor> feeds, ProbedModel model) {
        OnnxTensor maskTensor = mask(model, feeds);
        return maskTensor == null ? null : maskBytes(maskTensor);
    }

    /** The bytes of float tensors of these shapes. */
    static long bytes(Map<String, long[]> shapes) {
        long total = 0;
        for (long[] shape : shapes.values()) {
            total += TapBufferSet.floatBytes(shape);
        }
        return total;
    }

    /** The probed batch of a run; {@code taps.buffers()} holds the taps, or (null) the result does. */
    static ProbedBatch read(ProbeTaps taps, Map<String, OnnxTensor> feeds, OrtSession.Result result) {
        return read(taps, feeds, result, allocatedShapes(taps.tapOutputs(), result));
    }

    /**
     * The probed batch of a run, given the taps ORT allocated ({@link #allocatedShapes} of {@code taps.tapOutputs()}):
     * those are copied out of the result.
     */
    static ProbedBatch read(ProbeTaps taps, Map<String, OnnxTensor> feeds, OrtSession.Result result,
                            Map<String, long[]> allocated) {
        ProbedModel model = taps.model();
        OnnxTensor maskTensor = mask(model, feeds);
        byte[] mask = maskTensor == null ? null : maskBytes(maskTensor);
        Map<String, TapTensor> tensors = new HashMap<>();
        TapBufferSet set = taps.buffers();
        if (set != null) {
            for (String tap : set.tensors().keySet()) {
                tensors.put(tap, new TapTensor(set.buffer(tap), set.shape(tap)));
            }
        }
        for (Map.Entry<String, long[]> e : allocated.entrySet()) {
            OnnxTensor t = (OnnxTensor) result.get(e.getKey()).orElseThrow();
            tensors.put(e.getKey(), new TapTensor(t.getFloatBuffer(), e.getValue()));
        }
        return new ProbedBatch(taps.batch(), taps.tokens(), mask, tensors);
    }

    private static byte[] maskBytes(OnnxTensor mask) {
        long n = mask.getInfo().getNumElements();
        byte[] out = new byte[Math.toIntExact(n)];
        switch (mask.getInfo().type) {
            case INT64 -> {
                LongBuffer b = mask.getLongBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = (byte) (b.get(i) != 0 ? 1 : 0);
                }
            }
            case INT32 -> {
                IntBuffer b = mask.getIntBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = (byte) (b.get(i) != 0 ? 1 : 0);
                }
            }
            case BOOL, INT8, UINT8 -> {
                ByteBuffer b = mask.getByteBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = (byte) (b.get(i) != 0 ? 1 : 0);
                }
            }
            case FLOAT -> {
                FloatBuffer b = mask.getFloatBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = (byte) (b.get(i) != 0f ? 1 : 0);
                }
            }
            default -> throw new IllegalArgumentException("attention mask of type " + mask.getInfo().type
                    + " is not supported (INT64, INT32, BOOL, INT8, UINT8 or FLOAT)");
        }
        return out;
    }
}
