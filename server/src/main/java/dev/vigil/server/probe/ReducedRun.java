package dev.vigil.server.probe;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.stats.ReducedBatch;
import dev.vigil.probes.stats.ReducedTensor;
import dev.vigil.server.serving.RunTaps;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A probed run of a model that reduces its statistics in the graph: it asks only for the reduction outputs (small
 * vectors that ONNX Runtime allocates; nothing pinned), copied into a {@link ReducedBatch} before the request ends.
 */
final class ReducedRun implements RunTaps {
    private final ProbedModel model;
    private final int batch;
    private final int tokens;

    ReducedRun(ProbedModel model, int batch, int tokens) {
        this.model = model;
        this.batch = batch;
        this.tokens = tokens;
    }

    ProbedModel model() {
        return model;
    }

    @Override
    public Set<String> outputs() {
        return model.reductions();
    }

    /** The reductions of the run, copied out of its result. */
    ReducedBatch read(Map<String, OnnxTensor> feeds, OrtSession.Result result) {
        Map<String, ReducedTensor> outputs = new HashMap<>();
        for (String name : model.reductions()) {
            Optional<OnnxValue> value = result.get(name);
            if (value.isPresent() && value.get() instanceof OnnxTensor t) {
                outputs.put(name, new ReducedTensor(t.getInfo().getShape(), values(t)));
            }
        }
        return new ReducedBatch(batch, tokens, TapReader.mask(feeds, model), outputs);
    }

    private static double[] values(OnnxTensor t) {
        int n = Math.toIntExact(t.getInfo().getNumElements());
        double[] out = new double[n];
        OnnxJavaType type = t.getInfo().type;
        switch (type) {
            case FLOAT -> {
                FloatBuffer b = t.getFloatBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = b.get(i);
                }
            }
            case DOUBLE -> {
                DoubleBuffer b = t.getDoubleBuffer();
                b.get(0, out);
            }
            case INT32 -> {
                IntBuffer b = t.getIntBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = b.get(i);
                }
            }
            case INT64 -> {
                LongBuffer b = t.getLongBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = b.get(i);
                }
            }
            default -> throw new IllegalArgumentException("reduction output of type " + type);
        }
        return out;
    }
}
