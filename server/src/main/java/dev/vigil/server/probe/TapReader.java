package dev.vigil.server.probe;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.TapTensor;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Builds a {@link ProbedBatch} from one run: B and T from the attention-mask input ({@code [B,T]}) when the model
 * has it, else from the first input's leading dims; the mask as bytes; every tapped output copied out of ONNX
 * Runtime (the result is closed when the request ends, and the statistics run later on the worker).
 */
final class TapReader {
    private TapReader() {
    }

    /** Whether this run computed the model's taps (it was sampled). */
    static boolean hasTaps(ProbedModel model, OrtSession.Result result) {
        return !model.taps().isEmpty() && result.get(model.taps().iterator().next()).isPresent();
    }

    /**
     * The probed batch of a run.
     *
     * @throws IllegalArgumentException when the inputs give no batch and sequence length
     */
    static ProbedBatch read(ProbedModel model, Map<String, OnnxTensor> feeds, OrtSession.Result result)
            throws OrtException {
        OnnxTensor maskTensor = feeds.get(model.settings().attentionMaskInput());
        long[] dims;
        byte[] mask = null;
        if (maskTensor != null && maskTensor.getInfo().getShape().length == 2) {
            dims = maskTensor.getInfo().getShape();
            mask = maskBytes(maskTensor);
        } else if (!feeds.isEmpty()) {
            dims = feeds.values().iterator().next().getInfo().getShape();
        } else {
            throw new IllegalArgumentException("model '" + model.name() + "' has no input to size the batch");
        }
        int batch = dims.length > 0 ? Math.toIntExact(dims[0]) : 1;
        int tokens = dims.length > 1 ? Math.toIntExact(dims[1]) : 1;
        Map<String, TapTensor> tensors = new HashMap<>();
        for (String tap : model.taps()) {
            Optional<OnnxValue> value = result.get(tap);
            if (value.isPresent() && value.get() instanceof OnnxTensor t
                    && t.getInfo().type == OnnxJavaType.FLOAT) {
                tensors.put(tap, new TapTensor(t.getFloatBuffer(), t.getInfo().getShape()));
            }
        }
        return new ProbedBatch(batch, tokens, mask, tensors);
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
