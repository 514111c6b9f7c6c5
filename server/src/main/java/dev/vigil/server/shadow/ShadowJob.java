package dev.vigil.server.shadow;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.TapTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a shadow run needs from one float run, kept past the request: copies of the inputs and of the compared float
 * outputs, and the float run's probed batch (its site taps), whose buffers {@code release} gives back.
 *
 * @param model   the shadowed model
 * @param batch   the float run's probed batch
 * @param inputs  the model inputs, copied
 * @param outputs the compared float outputs, copied
 * @param release gives the probed batch's buffers back; run once, when the shadow run is over or refused
 */
public record ShadowJob(ShadowedModel model, ProbedBatch batch, Map<String, Input> inputs,
                        Map<String, TapTensor> outputs, Runnable release) {

    /** One copied input tensor. */
    public record Input(ByteBuffer data, long[] shape, OnnxJavaType type) {
    }

    /**
     * Copies what the shadow run needs out of a float run's tensors, which are closed when the request ends.
     *
     * @throws IllegalArgumentException when an input is not a numeric tensor (string inputs are not shadowed)
     */
    public static ShadowJob of(ShadowedModel model, ProbedBatch batch, Map<String, OnnxTensor> feeds,
                               OrtSession.Result result, Runnable release) throws OrtException {
        Map<String, Input> inputs = new LinkedHashMap<>();
        for (Map.Entry<String, OnnxTensor> e : feeds.entrySet()) {
            OnnxTensor t = e.getValue();
            if (t.getInfo().type == OnnxJavaType.STRING) {
                throw new IllegalArgumentException("input '" + e.getKey() + "' holds strings");
            }
            ByteBuffer values = t.getByteBuffer();
            // direct and in native order: ORT then runs on this memory as it is
            ByteBuffer copy = ByteBuffer.allocateDirect(values.remaining()).order(ByteOrder.nativeOrder());
            copy.put(values).flip();
            inputs.put(e.getKey(), new Input(copy, t.getInfo().getShape(), t.getInfo().type));
        }
        Map<String, TapTensor> outputs = floats(result, model.stats().outputs());
        return new ShadowJob(model, batch, inputs, outputs, release);
    }

    /** The float tensors among {@code names} in a run's result, copied out. */
    static Map<String, TapTensor> floats(OrtSession.Result result, List<String> names) {
        Map<String, TapTensor> out = new LinkedHashMap<>();
        for (String name : names) {
            Optional<OnnxValue> v = result.get(name);
            if (v.isPresent() && v.get() instanceof OnnxTensor t && t.getInfo().type == OnnxJavaType.FLOAT) {
                out.put(name, new TapTensor(t.getFloatBuffer(), t.getInfo().getShape()));
            }
        }
        return out;
    }
}
